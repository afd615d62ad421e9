// GET / and its two files: the live page (web/), static, no build step. Read once at start.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';

// src/http/handlers and dist/http/handlers are both three levels below the package root.
const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web');
const FILES: Record<string, [string, string]> = {
    '/': ['index.html', 'text/html; charset=utf-8'],
    '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
    '/app.css': ['app.css', 'text/css; charset=utf-8']
};
const cache = new Map<string, Buffer>();

export function isPage(pathname: string): boolean {
    return pathname in FILES;
}

export function page(pathname: string, res: ServerResponse): void {
    const [file, type] = FILES[pathname];
    let body = cache.get(file);
    if (!body) cache.set(file, (body = readFileSync(path.join(WEB, file))));
    res.writeHead(200, {
        'content-type': type,
        'cache-control': 'no-cache',
        // The page talks only to this listener and runs only its own script.
        'content-security-policy':
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer'
    });
    res.end(body);
}
