// Dovecot-side events end to end: a real Dovecot with the dovecot-config fragment installed as
// an administrator would, its Lua hook posting to the bridge's ingest, events on the bus.
// Runs against the machine's Dovecot 2.3 and against 2.4.1 in a trixie root (helpers/dovecot24.ts),
// and on both once more through the native driver (dovecot/native/): the same events must arrive.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, Subscriber, type TestBridge } from '../helpers/bridge.js';
import { type TestDovecot } from '../helpers/dovecot.js';
import { DOVECOT_VERSIONS, type DovecotVersion, dovecotOf, hookFragmentFor, ROOT_BUILD_TIMEOUT } from '../helpers/dovecot24.js';
import { type HookFragment } from '../helpers/hook-fragment.js';
import { nowTs, postHeaders } from '../helpers/hook-sign.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort } from '../helpers/net.js';
import { driverArgsFor, type Driver } from '../helpers/native-driver.js';
import { busUrl } from '../../src/publish/bus-address.js';
import { asType, isMessage } from '../helpers/events.js';

const ROOT = path.resolve(__dirname, '../..');
const VOICEMAIL = readFileSync(path.join(ROOT, 'test/fixtures/messages/asterisk-voicemail.eml'));
const PLAIN = readFileSync(path.join(ROOT, 'test/fixtures/messages/plain.eml'));
const TOKEN = 'events-test-token-0123456789abcdef';
const USER = 'alice@example.org';
const BARRIER_BOX = 'Barrier';

const CASES: [DovecotVersion, Driver][] = (['lua', 'native'] as Driver[]).flatMap(d => DOVECOT_VERSIONS.map(v => [v, d] as [DovecotVersion, Driver]));

describe.each(CASES)('Dovecot %s: Dovecot-side events through the %s driver', (version, driver) => {
    let dovecot: TestDovecot;
    let vmb: TestBridge;
    let sub: Subscriber;
    let ingest = '';
    let frag: HookFragment;

    beforeAll(async () => {
        ingest = `127.0.0.1:${await freePort()}`;
        // Exactly what the README tells an administrator: append `vmbridge dovecot-config` output.
        frag = await hookFragmentFor(version, ['--ingest', ingest, '--ingest-token', TOKEN, ...(await driverArgsFor(version, driver))]);
        expect(frag.fragment).toMatch(driver === 'native' ? /vmbridge:url=|push_notification_vmbridge_url =/ : /lua:file=|lua_file =/);
        expect(frag.fragment).not.toContain(TOKEN);
        dovecot = await dovecotOf(version, { extraConfig: frag.fragment }).start();
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, ingest, ingestToken: TOKEN, imap: dovecot.imapUrl, hook: 'yes' });
        // mwi events (the bridge recounts voicemail boxes here too) are test/mwi's business.
        sub = new Subscriber(
            busUrl(vmb.config),
            ['newmail', 'flag', 'move', 'delete'].map(t => `${USER}\t${t}\t`)
        );
        await sub.ready(vmb.bridge, USER);
        const c = await dovecot.imap(USER);
        await c.mailboxCreate(BARRIER_BOX);
        await c.logout();
    }, ROOT_BUILD_TIMEOUT);

    afterAll(async () => {
        sub?.close();
        await vmb?.stop();
        await dovecot?.destroy();
        frag?.cleanup();
    });

    let barriers = 0;
    /**
     * The events after the test's action, once n of them are in and then a barrier's: an APPEND of
     * our own to a mailbox of its own, through Dovecot's hook like the action's events, so anything
     * the action caused (a duplicate too) is in before the barrier's newmail.
     */
    const next = async (n: number, what: string) => {
        await sub.waitFor(e => e.length >= n, what);
        const messageId = `<barrier-${++barriers}@example.org>`;
        const c = await dovecot.imap(USER);
        await c.append(BARRIER_BOX, Buffer.from(`Message-ID: ${messageId}\r\nSubject: barrier\r\n\r\nbarrier\r\n`));
        await c.logout();
        await sub.waitFor(e => e.some(ev => isMessage(ev) && ev.mailbox === BARRIER_BOX && ev.messageId === messageId), `barrier after ${what}`);
        const evs = sub.events.filter(e => !(isMessage(e) && e.mailbox === BARRIER_BOX));
        sub.clear();
        return evs;
    };

    it('a delivery through the bridge gives ONE newmail carrying Dovecot uid', async () => {
        const r = await send(vmb.lmtpPort, 'pbx@example.org', [USER], VOICEMAIL);
        expect(r.final.map(f => f.code)).toEqual([250]);
        const evs = await next(1, 'newmail');
        expect(evs).toHaveLength(1);
        expect(evs[0]).toMatchObject({ type: 'newmail', user: USER, mailbox: 'INBOX', uid: 1, class: 'voicemail', voicemail: { mailbox: '1000' } });
        expect(asType(evs[0], 'newmail').uidValidity).toBeGreaterThan(0);
    });

    it('STORE +FLAGS \\Seen gives one flag event with the class from the index', async () => {
        const c = await dovecot.imap(USER);
        await c.mailboxOpen('INBOX');
        await c.messageFlagsAdd('1', ['\\Seen'], { uid: true });
        await c.logout();
        const evs = await next(1, 'flag');
        expect(evs).toHaveLength(1);
        expect(evs[0]).toMatchObject({ type: 'flag', uid: 1, mailbox: 'INBOX', class: 'voicemail', flags: { set: ['\\Seen'], cleared: [] } });
    });

    it('MOVE gives exactly one move event; COPY gives newmail in the destination', async () => {
        const c = await dovecot.imap(USER);
        await c.mailboxOpen('INBOX');
        await c.messageMove('1', 'Old', { uid: true });
        let evs = await next(1, 'move');
        expect(evs).toHaveLength(1);
        expect(evs[0]).toMatchObject({ type: 'move', mailbox: 'Old', class: 'voicemail', from: { mailbox: 'INBOX', uid: 1 }, to: { mailbox: 'Old', uid: 1 } });
        await c.mailboxOpen('Old');
        await c.messageCopy('1', 'INBOX', { uid: true });
        await c.logout();
        evs = await next(1, 'copy newmail');
        expect(evs).toHaveLength(1);
        expect(evs[0]).toMatchObject({ type: 'newmail', mailbox: 'INBOX', class: 'voicemail' });
    });

    it('\\Deleted then EXPUNGE gives flag then delete', async () => {
        const c = await dovecot.imap(USER);
        await c.mailboxOpen('Old');
        await c.messageFlagsAdd('1', ['\\Deleted'], { uid: true });
        await c.messageDelete('1', { uid: true });
        await c.logout();
        const evs = await next(2, 'flag + delete');
        expect(evs.map(e => e.type)).toEqual(['flag', 'delete']);
        expect(asType(evs[0], 'flag').flags.set).toContain('\\Deleted');
        expect(evs[1]).toMatchObject({ mailbox: 'Old', uid: 1, class: 'voicemail' });
    });

    it('an APPENDed Asterisk voicemail (IMAP storage) gives newmail with class voicemail', async () => {
        const c = await dovecot.imap(USER);
        await c.append('INBOX', VOICEMAIL, ['\\Flagged']);
        await c.logout();
        const evs = await next(1, 'append newmail');
        expect(evs).toHaveLength(1);
        expect(evs[0]).toMatchObject({ type: 'newmail', mailbox: 'INBOX', class: 'voicemail', voicemail: { mailbox: '1000', context: 'default', callerIdNum: '5551234' } });
    });

    it('a dovecot-lda delivery that bypasses the bridge gives newmail', async () => {
        // Asynchronously: the bridge in this process must answer the hook while dovecot-lda runs.
        const status = await new Promise(resolve => {
            const [cmd, ...args] = dovecot.ldaCommand(USER);
            const lda = spawn(cmd!, args);
            lda.on('exit', resolve);
            lda.stdin.end(PLAIN);
        });
        expect(status).toBe(0);
        const evs = await next(1, 'lda newmail');
        expect(evs).toHaveLength(1);
        expect(evs[0]).toMatchObject({ type: 'newmail', mailbox: 'INBOX', class: 'email', messageId: '<plain-1@example.org>' });
        expect(asType(evs[0], 'newmail').uid).toBeGreaterThan(0);
    });

    it('Dovecot logged no error, fatal or panic (the hook never fails an operation)', () => {
        expect(dovecot.log).not.toMatch(/Error:|Fatal:|Panic:/);
    });

    it('answers 401 without a valid MAC, 400 for junk, 413 for oversized bodies', async () => {
        const url = `http://${ingest}/events`;
        const post = (body: string, key?: string) => fetch(url, { method: 'POST', body, headers: key ? postHeaders(key, body) : {} }).then(r => r.status);
        expect(await post('{}')).toBe(401);
        expect(await post('{}', 'wrong-token-0123456789abcdef-xxxx')).toBe(401);
        expect(await post('{not json', TOKEN)).toBe(400);
        expect(await post(JSON.stringify({ proc: 'p', seq: 1, user: 'u', events: [{ name: 'Bogus' }] }), TOKEN)).toBe(400);
        expect(await post('x'.repeat(9 * 1024 * 1024), TOKEN)).toBe(413);
        expect(await post(JSON.stringify({ proc: 'p', seq: 1, ts: nowTs(), user: 'u', session: 's', events: [] }), TOKEN)).toBe(204);
    });

    it('with the bridge stopped, IMAP and LMTP still work (how fast: bench/dovecot-cost)', async () => {
        await vmb.stop();
        const c = await dovecot.imap(USER);
        await c.mailboxOpen('INBOX');
        for (let i = 0; i < 5; i++) await c.messageFlagsAdd('1:*', ['\\Seen'], { uid: true });
        await c.logout();
        const r = await send(dovecot.lmtpPort, 'x@example.org', [USER], PLAIN);
        expect(r.final.map(f => f.code)).toEqual([250]);
    });
});
