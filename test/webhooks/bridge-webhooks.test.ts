// Webhooks wired in a real (in-process) bridge: a site-wide --webhook gets every event once in
// order through receiver failures, its cursor survives a bridge restart on the same state
// directory, and a per-user webhook created through the API starts delivering at once.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { createWebhook } from '../../src/webhooks/api.js';
import { SIGNATURE_HEADER, verifySignature } from '../../src/webhooks/sign.js';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { waitFor } from '../helpers/net.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
});

async function receiver(secret: string) {
    const got: VmEvent[] = [];
    const state = { failNext: 3, down: false, requests: 0, secret };
    const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', c => chunks.push(c));
        req.on('end', () => {
            state.requests++;
            const body = Buffer.concat(chunks).toString('utf8');
            if (state.down || state.failNext-- > 0) return void res.writeHead(503).end();
            if (!verifySignature(state.secret, req.headers[SIGNATURE_HEADER] as string, body)) return void res.writeHead(400).end();
            got.push(...(JSON.parse(body) as { events: VmEvent[] }).events);
            res.writeHead(200).end();
        });
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>(r => server.close(() => r())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`, got, state };
}

const flag = (user: string, n: number) => makeEvent({ id: `fl.${user}.${n}`, type: 'flag', user, mailbox: 'INBOX', uid: n, flags: { set: ['\\Seen'], cleared: [] } });

test('site-wide webhook: every event once, in order, across failures and a bridge restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-wh-bridge-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const secret = 'site-secret-0123456789';
    writeFileSync(path.join(dir, 'webhook.secret'), secret + '\n', { mode: 0o600 });
    const rx = await receiver(secret);
    const flags = { stateDir: path.join(dir, 'state'), webhook: [rx.url], webhookSecretFile: path.join(dir, 'webhook.secret') };

    let b: TestBridge | undefined = await startBridge(flags);
    cleanup.push(() => b?.stop());
    for (let i = 1; i <= 3; i++) b.bridge.events.emit(flag('alice', i));
    await waitFor(() => rx.got.length >= 3, 20_000, 'first three events');

    rx.state.down = true;
    const seen = rx.state.requests;
    for (let i = 4; i <= 5; i++) b.bridge.events.emit(flag('alice', i));
    await waitFor(() => rx.state.requests > seen, 20_000, 'a refused attempt');
    await b.stop();
    b = undefined;

    rx.state.down = false;
    b = await startBridge(flags);
    await waitFor(() => rx.got.length >= 5, 20_000, 'the two events after the restart');
    expect(rx.got.map(e => e.id)).toEqual([1, 2, 3, 4, 5].map(i => `fl.alice.${i}`));
    const seqs = rx.got.map(e => e.seq!);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
});

test('a per-user webhook created through the API gets only its user’s events', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-wh-user-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const b = await startBridge({ stateDir: dir, webhookAllowPrivate: true });
    cleanup.push(() => b.stop());
    const rx = await receiver('');
    rx.state.failNext = 0;
    const wh = createWebhook('bob', { url: rx.url, types: ['flag'] });
    expect(wh).toMatchObject({ user: 'bob', types: ['flag'] });
    rx.state.secret = wh.secret; // shown once, at creation
    b.bridge.events.emit(flag('alice', 1));
    b.bridge.events.emit(flag('bob', 1));
    b.bridge.events.emit(makeEvent({ id: 'mwi.bob.1', type: 'mwi', user: 'bob', mwi: { mailbox: '2000@default', new: 1, old: 0, urgent: 0 } }));
    b.bridge.events.emit(flag('bob', 2));
    await waitFor(() => rx.got.length >= 2, 20_000, "bob's events");
    expect(rx.got.map(e => e.id)).toEqual(['fl.bob.1', 'fl.bob.2']);
});
