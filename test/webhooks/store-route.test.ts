// Per-user webhooks: the SQLite store, the SSRF policy for user-chosen URLs, and the route handler
// the client listener mounts (driven over a real local HTTP server, the user already authenticated).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { openStateDb } from '../../src/state/db.js';
import { useWebhookStore } from '../../src/webhooks/api.js';
import { WebhookStore } from '../../src/webhooks/store.js';
import { isPrivateAddress, userTargetProblem } from '../../src/webhooks/target-policy.js';
import { webhooksRoute } from '../../src/http/routes/webhooks.js';

afterEach(() => useWebhookStore(undefined));

test('user URLs: https to public addresses only, unless the admin allows private targets', () => {
    for (const h of ['127.0.0.1', '10.1.2.3', '192.168.1.1', '172.20.0.1', '169.254.169.254', '[::1]', '[fd00::1]', 'localhost', '[::ffff:127.0.0.1]'])
        expect(isPrivateAddress(new URL(`https://${h}/`).hostname), h).toBe(true);
    expect(isPrivateAddress('203.0.113.9')).toBe(false);
    expect(userTargetProblem('https://hooks.example.com/x', false)).toBeNull();
    expect(userTargetProblem('http://hooks.example.com/x', false)).toMatch(/https/);
    expect(userTargetProblem('https://169.254.169.254/latest', false)).toMatch(/private/);
    expect(userTargetProblem('http://127.0.0.1:9/x', true)).toBeNull();
    expect(userTargetProblem('file:///etc/passwd', true)).toMatch(/http/);
});

test('create/list/delete per user through the route; users never see each other’s', async () => {
    const store = new WebhookStore(openStateDb(':memory:'));
    useWebhookStore(store);
    const server = createServer((req, res) => void webhooksRoute(req, res, String(req.headers['x-test-user'])));
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    try {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/webhooks`;
        const call = (user: string, method: string, url = base, body?: unknown) =>
            fetch(url, { method, headers: { 'x-test-user': user, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

        const created = await call('alice', 'POST', base, { url: 'https://hooks.example.com/a', types: ['newmail', 'mwi'] });
        expect(created.status).toBe(201);
        const wh = await created.json();
        expect(wh).toMatchObject({ user: 'alice', url: 'https://hooks.example.com/a', types: ['newmail', 'mwi'] });
        expect(wh.secret).toMatch(/^whsec_.{32}$/);

        expect((await call('alice', 'POST', base, { url: 'https://10.0.0.1/a' })).status).toBe(400);
        expect((await call('alice', 'POST', base, { url: 'https://x.example/a', types: ['bogus'] })).status).toBe(400);
        expect((await call('alice', 'POST', base, 'not json')).status).toBe(400);

        const listed = await (await call('alice', 'GET')).json();
        expect(listed.webhooks).toEqual([{ id: wh.id, user: 'alice', url: wh.url, types: wh.types, created: wh.created }]);
        expect(JSON.stringify(listed)).not.toContain(wh.secret);
        expect((await (await call('bob', 'GET')).json()).webhooks).toEqual([]);
        expect((await call('bob', 'DELETE', `${base}/${wh.id}`)).status).toBe(404);
        expect(store.targets()).toEqual([{ id: wh.id, url: wh.url, secret: wh.secret, user: 'alice', types: ['newmail', 'mwi'] }]);
        expect((await call('alice', 'DELETE', `${base}/${wh.id}`)).status).toBe(204);
        expect(store.list('alice')).toEqual([]);
    } finally {
        await new Promise<void>(r => server.close(() => r()));
    }
});
