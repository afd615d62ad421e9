// The hook's transports against a real Dovecot: the unix-socket stream, a gap (bridge down, then
// up) detected and resynced, IMAP staying fast while the bridge is down, and the HTTP fallback.
// (tcp:// — the default — is what test/events/dovecot-events.test.ts runs every event kind over.)
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatches } from '../../src/metrics.js';
import { startBridge, Subscriber, type TestBridge } from '../helpers/bridge.js';
import { type TestDovecot } from '../helpers/dovecot.js';
import { DOVECOT_VERSIONS, dovecotOf, hookFragmentFor, ROOT_BUILD_TIMEOUT, trixieRoot } from '../helpers/dovecot24.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort, waitFor } from '../helpers/net.js';
import { busUrl } from '../../src/publish/bus-address.js';

const TOKEN = 'transport-test-token-0123456789abcdef';
const USER = 'alice@example.org';
const MSG = Buffer.from('From: a@example.net\r\nSubject: t\r\nMessage-ID: <t@example.net>\r\n\r\nhi\r\n');

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach(c => c()));
const counted = async (result: string) => (await ingestBatches.get()).values.find(v => v.labels.result === result)?.value ?? 0;

/** A bridge on `ingest` and a bus subscriber for USER's flag events. */
async function bridgeOn(ingest: string): Promise<{ vmb: TestBridge; sub: Subscriber }> {
    const vmb = await startBridge({ ingest, ingestToken: TOKEN });
    const sub = new Subscriber(busUrl(vmb.config), [`${USER}\tflag\t`, '__probe__\t']);
    await sub.ready(vmb.bridge);
    return { vmb, sub };
}

describe.each(DOVECOT_VERSIONS)('Dovecot %s: hook over a unix socket', version => {
    let dir: string;
    let dovecot: TestDovecot;
    let b: { vmb: TestBridge; sub: Subscriber } | undefined;
    let imap: ImapFlow;
    let ingest: string;
    let flagNo = 0;
    // Each STORE sets a keyword not set before, so Dovecot always reports one FlagsSet.
    const store = () => imap.messageFlagsAdd('1', [`$k${++flagNo}`], { uid: true });

    beforeAll(async () => {
        // 2.4 runs in the trixie root: the socket must be inside it (the fragment names it from there).
        dir = mkdtempSync(version === '2.4' ? path.join(await trixieRoot(), 'srv', 'vmb-sock-') : path.join(tmpdir(), 'vmb-hook-'));
        chmodSync(dir, 0o755); // the mail uid (5000) must reach the socket
        ingest = `unix:${dir}/run/ingest.sock`;
        const f = await hookFragmentFor(version, ['--ingest-token', TOKEN, '--ingest', ingest]);
        cleanups.push(f.cleanup);
        dovecot = await dovecotOf(version, { extraConfig: f.fragment }).start();
        b = await bridgeOn(ingest);
        await send(dovecot.lmtpPort, 'a@example.net', [USER], MSG);
        imap = await dovecot.imap(USER);
        await imap.mailboxOpen('INBOX');
    }, ROOT_BUILD_TIMEOUT);

    afterAll(async () => {
        await imap?.logout().catch(() => undefined);
        b?.sub.close();
        await b?.vmb.stop();
        await dovecot?.destroy();
        rmSync(dir, { recursive: true, force: true });
    });

    it('creates the socket writable by the mail uid and carries events', async () => {
        expect(statSync(`${dir}/run/ingest.sock`).mode & 0o777).toBe(0o666);
        await store();
        const [ev] = await b!.sub.waitFor(e => e.length >= 1, 'flag over unix socket');
        expect(ev).toMatchObject({ type: 'flag', user: USER, mailbox: 'INBOX', uid: 1, flags: { set: [`$k${flagNo}`] } });
    });

    it('keeps IMAP fast while the bridge is down, then detects the gap and resyncs', async () => {
        b!.sub.close();
        await b!.vmb.stop();
        b = undefined;
        // Each one's batch is lost: its seq is gone for good. (How fast IMAP stays meanwhile is
        // bench/dovecot-cost's `tcp-down` row, not a test.)
        for (let i = 0; i < 20; i++) await store();

        const gaps = await counted('gap');
        b = await bridgeOn(ingest);
        // The hook retries its connection after vmbridge_retry_msecs (1 s): STORE until it does.
        await waitFor(
            async () => {
                await store();
                await new Promise(r => setTimeout(r, 100));
                return b!.sub.events.length > 0;
            },
            10_000,
            'events after the bridge came back'
        );
        expect(await counted('gap')).toBe(gaps + 1);
    });
});

// Dovecot 2.4's Lua HTTP client takes other setting names than 2.3's (vmbridge.lua tells them apart).
describe.each(DOVECOT_VERSIONS)('Dovecot %s: hook over HTTP (--hook-transport http)', version => {
    it(
        'still carries events, synchronously, signed by the pure Lua HMAC (no lua-luaossl needed)',
        async () => {
            const ingest = `127.0.0.1:${await freePort()}`;
            const f = await hookFragmentFor(version, ['--ingest-token', TOKEN, '--ingest', ingest, '--hook-transport', 'http']);
            cleanups.push(f.cleanup);
            const pureLua = version === '2.4' ? 'push_notification lua {\n  lua_settings {\n    vmbridge_hmac = lua\n  }\n}\n' : 'plugin {\n  vmbridge_hmac = lua\n}\n';
            const dovecot = await dovecotOf(version, { extraConfig: f.fragment + pureLua }).start();
            const { vmb, sub } = await bridgeOn(ingest);
            try {
                await send(dovecot.lmtpPort, 'a@example.net', [USER], MSG);
                const c = await dovecot.imap(USER);
                await c.mailboxOpen('INBOX');
                await c.messageFlagsAdd('1', ['\\Flagged'], { uid: true });
                await c.logout();
                const [ev] = await sub.waitFor(e => e.length >= 1, 'flag over http');
                expect(ev).toMatchObject({ type: 'flag', uid: 1, flags: { set: ['\\Flagged'] } });
            } finally {
                sub.close();
                await vmb.stop();
                await dovecot.destroy();
            }
        },
        ROOT_BUILD_TIMEOUT
    );
});
