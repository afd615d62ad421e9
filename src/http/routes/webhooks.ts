// /v1/webhooks on the client listener, for an already authenticated user:
//   GET    /v1/webhooks       → 200 {"webhooks":[…]}
//   POST   /v1/webhooks       {"url":"https://…","types":["newmail"]} → 201 {…, "secret"} (shown once)
//   DELETE /v1/webhooks/<id>  → 204, or 404 when the user has no such webhook
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createWebhook, deleteWebhook, listWebhooks } from '../../webhooks/api.js';
import { WebhookSpecError } from '../../webhooks/store.js';

const BODY_LIMIT = 16 * 1024;

export async function webhooksRoute(req: IncomingMessage, res: ServerResponse, user: string): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const id = path.startsWith('/v1/webhooks/') ? decodeURIComponent(path.slice('/v1/webhooks/'.length)) : undefined;
    if (path === '/v1/webhooks' && req.method === 'GET') return json(res, 200, { webhooks: listWebhooks(user) });
    if (path === '/v1/webhooks' && req.method === 'POST') {
        const body = await readBody(req);
        if (body === undefined) return json(res, 413, { error: 'body too large' });
        let spec: unknown;
        try {
            spec = JSON.parse(body);
        } catch {
            return json(res, 400, { error: 'body is not JSON' });
        }
        try {
            return json(res, 201, createWebhook(user, spec));
        } catch (err) {
            if (err instanceof WebhookSpecError) return json(res, 400, { error: err.message });
            throw err;
        }
    }
    if (id && req.method === 'DELETE') {
        if (!deleteWebhook(user, id)) return json(res, 404, { error: 'no such webhook' });
        res.writeHead(204).end();
        return;
    }
    json(res, path === '/v1/webhooks' || id ? 405 : 404, { error: 'not found' });
}

function json(res: ServerResponse, status: number, value: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(value));
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => {
            size += c.length;
            if (size > BODY_LIMIT) {
                resolve(undefined);
                req.destroy();
            } else chunks.push(c);
        });
        req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        req.on('error', reject);
    });
}
