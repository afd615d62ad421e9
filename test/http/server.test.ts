// The client listener without Dovecot: HTTPS with its own pair, what is refused before
// authentication, the page's headers, and the options.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { HttpAuth } from '../../src/http/auth.js';
import { StreamHub } from '../../src/http/hub.js';
import { createClientListener } from '../../src/http/index.js';
import { ClientServer } from '../../src/http/server.js';
import { TokenStore } from '../../src/http/tokens.js';
import type { EventFront } from '../../src/publish/front.js';
import { freePort } from '../helpers/net.js';
import { basic, bearer } from './clients.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vmb-http-'));
let server: ClientServer;
let tokens: TokenStore;
let port = 0;
let ca: Buffer;

function req(method: string, p: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    return new Promise((resolve, reject) => {
        const r = https.request({ host: '127.0.0.1', port, path: p, method, headers, ca, servername: 'localhost' }, res => {
            let b = '';
            res.on('data', c => (b += c));
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: b }));
        });
        r.on('error', reject);
        r.end(body);
    });
}

beforeAll(async () => {
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'],
        { stdio: 'ignore' }
    );
    ca = readFileSync(cert);
    tokens = new TokenStore(dir);
    port = await freePort();
    server = new ClientServer({
        listen: { host: '127.0.0.1', port },
        tlsCert: cert,
        tlsKey: key,
        auth: new HttpAuth({ tokens }), // no --imap: tokens only
        deps: { hub: new StreamHub(), replay: async () => [], mwi: () => [], replayMax: 100, heartbeatMs: 25_000, logger: createLogger('silent') }
    });
    await server.listen();
});

afterAll(async () => {
    await server?.close();
    tokens?.close();
});

describe('client listener', () => {
    it('serves HTTPS with its own pair; a token reads, Basic without --imap is refused like anything else', async () => {
        const { token } = tokens.create('alice');
        const ok = await req('GET', '/v1/mwi', { authorization: bearer(token) });
        expect(ok.status).toBe(200);
        expect(JSON.parse(ok.body)).toEqual({ user: 'alice', boxes: [] });
        const refused = await req('GET', '/v1/mwi', { authorization: basic('alice', 'pw') });
        expect(refused.status).toBe(401);
        expect(refused.body).toBe((await req('GET', '/v1/mwi', { authorization: bearer('vmb_nope_x') })).body);
    });

    it('refuses methods and bodies before authentication', async () => {
        expect((await req('GET', '/v1/events', { 'content-type': 'text/plain', 'content-length': '5000' }, 'x'.repeat(5000))).status).toBe(413);
        expect((await req('POST', '/v1/events', {}, 'x')).status).toBe(405);
        expect((await req('GET', '/nope')).status).toBe(404);
    });

    it('serves the page with a strict Content-Security-Policy, no credentials needed', async () => {
        const page = await req('GET', '/');
        expect(page.status).toBe(200);
        expect(page.body).toContain('aria-live="polite"');
        expect(page.headers['content-security-policy']).toContain("default-src 'none'");
        expect((await req('GET', '/app.js')).body).toContain('x-vmbridge-page');
    });

    it('options: a bare port is loopback; a TLS cert without its key is a configuration error', () => {
        expect(loadConfig({ http: '8080' }, {}).http?.text).toBe('127.0.0.1:8080');
        expect(loadConfig({ http: '[::]:8080' }, {}).http?.text).toBe('[::]:8080');
        const front = { add: () => front } as unknown as EventFront;
        expect(() => createClientListener(loadConfig({ http: '8080', httpTlsCert: '/c', stateDir: dir }, {}), front, () => [], createLogger('silent'))).toThrow(ConfigError);
    });
});
