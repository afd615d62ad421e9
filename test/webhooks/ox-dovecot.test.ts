// The `ox` webhook format against real Dovecot (2.3, the machine's) with the hook installed: a
// delivery through the bridge reaches an OX-style receiver as Dovecot's OX push driver would send
// it (push-notification-driver-ox.c: PUT, JSON user/event/folder/imap-uidvalidity/imap-uid/from/
// subject/unseen, Basic auth from the URL's userinfo).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { type TestDovecot } from '../helpers/dovecot.js';
import { dovecotOf, hookFragmentFor, ROOT_BUILD_TIMEOUT } from '../helpers/dovecot24.js';
import { type HookFragment } from '../helpers/hook-fragment.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort, waitFor } from '../helpers/net.js';

const ROOT = path.resolve(__dirname, '../..');
const VOICEMAIL = readFileSync(path.join(ROOT, 'test/fixtures/messages/asterisk-voicemail.eml'));
const TOKEN = 'ox-test-token-0123456789abcdef0123';
const USER = 'alice@example.org';

let dovecot: TestDovecot | undefined;
let vmb: TestBridge | undefined;
let frag: HookFragment | undefined;
let dir = '';
const got: { method?: string; auth?: string; type?: string; body: string }[] = [];
const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
        got.push({ method: req.method, auth: req.headers.authorization, type: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end();
    });
});

beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vmb-ox-'));
    writeFileSync(path.join(dir, 'ox.secret'), 'ox-secret-0123456789\n', { mode: 0o600 });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    const url = `http://oxadmin:s3cret@127.0.0.1:${(server.address() as AddressInfo).port}/preliminary/http-notify/v1/notify`;
    const ingest = `127.0.0.1:${await freePort()}`;
    frag = await hookFragmentFor('2.3', ['--ingest', ingest, '--ingest-token', TOKEN]);
    dovecot = await dovecotOf('2.3', { extraConfig: frag.fragment }).start();
    vmb = await startBridge({
        stateDir: path.join(dir, 'state'),
        deliver: dovecot.lmtpUrl,
        ingest,
        ingestToken: TOKEN,
        imap: dovecot.imapUrl,
        hook: 'yes',
        webhook: [{ url, format: 'ox', types: ['newmail'], secretFile: path.join(dir, 'ox.secret') }]
    });
}, ROOT_BUILD_TIMEOUT);

afterAll(async () => {
    await vmb?.stop();
    await dovecot?.destroy();
    frag?.cleanup();
    await new Promise<void>(r => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
});

it("a delivery through the bridge reaches the receiver as Dovecot's OX driver sends it", async () => {
    const r = await send(vmb!.lmtpPort, 'pbx@example.org', [USER], VOICEMAIL);
    expect(r.final.map(f => f.code)).toEqual([250]);
    await waitFor(() => got.length >= 1, 20_000, 'the ox PUT');
    const [req] = got;
    expect(req.method).toBe('PUT');
    expect(req.type).toMatch(/^application\/json/);
    expect(req.auth).toBe(`Basic ${Buffer.from('oxadmin:s3cret').toString('base64')}`);
    const body = JSON.parse(req.body);
    // The driver's fields, in its order.
    expect(Object.keys(body)).toEqual(['user', 'event', 'folder', 'imap-uidvalidity', 'imap-uid', 'from', 'subject', 'unseen']);
    const c = await dovecot!.imap(USER);
    const box = await c.mailboxOpen('INBOX');
    const msg = await c.fetchOne('*', { envelope: true, uid: true });
    await c.logout();
    expect(body).toEqual({
        user: USER,
        event: 'messageNew',
        folder: 'INBOX',
        'imap-uidvalidity': Number(box.uidValidity),
        'imap-uid': msg && msg.uid,
        from: 'Asterisk PBX <asterisk@pbx.example.org>',
        subject: 'New message 1 in mailbox 1000',
        unseen: 1
    });
});
