// Foundation, end to end with real parts: an MTA-side LMTP client → vmbridge → real Dovecot
// (LMTP over TCP and a unix socket, dovecot-lda) or a Maildir, and the newmail events on a real
// nanomsg SUB socket.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, Subscriber, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { busUrl } from '../../src/publish/bus-address.js';
import { asType } from '../helpers/events.js';

const fixture = (n: string) => readFileSync(path.join(__dirname, '../fixtures/messages', n));
const VOICEMAIL = fixture('asterisk-voicemail.eml');
const PLAIN = fixture('plain.eml');

/** Dovecot prepends its own trace headers; what follows them must be exactly what was sent. */
function storedAsSent(stored: Buffer, sent: Buffer): boolean {
    return stored.length >= sent.length && stored.subarray(stored.length - sent.length).equals(sent);
}

type Target = 'lmtp-tcp' | 'lmtp-unix' | 'lda' | 'maildir';

describe.each<Target>(['lmtp-tcp', 'lmtp-unix', 'lda', 'maildir'])('delivery through vmbridge to %s', target => {
    let dovecot: TestDovecot;
    let vmb: TestBridge;
    let sub: Subscriber;
    let maildir = '';

    const stored = async (user: string): Promise<Buffer[]> => {
        if (target !== 'maildir') return (await dovecot.messages(user)).map(m => m.source);
        const dir = path.join(maildir, user, 'new');
        try {
            return readdirSync(dir)
                .sort()
                .map(f => readFileSync(path.join(dir, f)));
        } catch {
            return [];
        }
    };

    beforeAll(async () => {
        dovecot = await startDovecot();
        maildir = mkdtempSync(path.join(tmpdir(), 'vmb-maildir-'));
        const deliver = {
            'lmtp-tcp': dovecot.lmtpUrl,
            'lmtp-unix': `lmtp:${dovecot.lmtpSocket}`,
            lda: dovecot.ldaTarget,
            maildir: `maildir:${maildir}`
        }[target];
        vmb = await startBridge({ deliver, deliverTimeout: 3000 });
        sub = new Subscriber(busUrl(vmb.config));
        await sub.ready(vmb.bridge);
    });

    afterAll(async () => {
        sub?.close();
        await vmb?.stop();
        await dovecot?.destroy();
        rmSync(maildir, { recursive: true, force: true });
    });

    it('stores an Asterisk voicemail byte-identical and publishes a voicemail newmail', async () => {
        sub.clear();
        const r = await send(vmb.lmtpPort, 'asterisk@pbx.example.org', ['alice@example.org'], VOICEMAIL);
        expect(r.rcpt.map(x => x.code)).toEqual([250]);
        expect(r.final.map(x => x.code)).toEqual([250]);
        const msgs = await stored('alice@example.org');
        expect(msgs).toHaveLength(1);
        expect(storedAsSent(msgs[0], VOICEMAIL)).toBe(true);
        const [ev] = await sub.waitFor(e => e.length >= 1, 'newmail');
        expect(ev).toMatchObject({
            v: 1,
            type: 'newmail',
            user: 'alice@example.org',
            mailbox: 'INBOX',
            class: 'voicemail',
            messageId: '<Asterisk-1-1804289383-1000-4242@pbx.example.org>',
            voicemail: {
                mailbox: '1000',
                context: 'default',
                callerIdNum: '5551234',
                callerIdName: 'Bob Example',
                durationSec: 7,
                urgent: false,
                msgNum: 1,
                origTime: 1795428000,
                messageType: 'Message'
            }
        });
        expect(typeof ev.id).toBe('string');
        expect(Date.parse(ev.ts)).not.toBeNaN();
    });

    it('stores a plain mail (with dot-led lines) byte-identical as class email', async () => {
        sub.clear();
        const r = await send(vmb.lmtpPort, 'carol@example.org', ['bob@example.org'], PLAIN);
        expect(r.final.map(x => x.code)).toEqual([250]);
        const msgs = await stored('bob@example.org');
        expect(msgs).toHaveLength(1);
        expect(storedAsSent(msgs[0], PLAIN)).toBe(true);
        const [ev] = await sub.waitFor(e => e.length >= 1, 'newmail');
        expect(ev).toMatchObject({ type: 'newmail', user: 'bob@example.org', class: 'email', messageId: '<plain-1@example.org>' });
        expect(asType(ev, 'newmail').voicemail).toBeUndefined();
    });

    // A Maildir has no user database (every recipient is accepted) and no server to stop: these
    // two apply to Dovecot targets; the Maildir's own failure mode (disk errors → 451) is below.
    if (target !== 'maildir')
        it('answers 250/550/250 when one of three recipients is unknown', async () => {
            sub.clear();
            const r = await send(vmb.lmtpPort, 'carol@example.org', ['carol@example.org', 'nobody@example.org', 'alice@example.org'], PLAIN);
            // With an LMTP downstream Dovecot's verdict comes at RCPT; with lda after DATA (decisions).
            const codes = target.startsWith('lmtp') ? [...r.rcpt.map(x => x.code), ...r.final.map(x => x.code)] : r.final.map(x => x.code);
            expect(codes).toEqual(target.startsWith('lmtp') ? [250, 550, 250, 250, 250] : [250, 550, 250]);
            const refusal = target.startsWith('lmtp') ? r.rcpt[1] : r.final[1];
            expect(refusal.text).toMatch(/^5\.1\.1 /);
            await sub.waitFor(e => e.length >= 2, 'two newmail events');
            expect(sub.events.map(e => e.user).sort()).toEqual(['alice@example.org', 'carol@example.org']);
            expect((await stored('carol@example.org')).length).toBe(1);
        });

    if (target !== 'maildir')
        it('gives 451 while Dovecot is down and stores the retry exactly once', async () => {
            sub.clear();
            const before = (await stored('carol@example.org')).length;
            await dovecot.stop();
            try {
                const r = await send(vmb.lmtpPort, 'x@example.org', ['carol@example.org'], PLAIN);
                const codes = [...r.rcpt.map(x => x.code), ...r.final.map(x => x.code)].filter(c => c !== 250);
                expect(codes.length).toBeGreaterThan(0);
                expect(codes.every(c => c >= 400 && c < 500)).toBe(true);
            } finally {
                await dovecot.start();
            }
            const retry = await send(vmb.lmtpPort, 'x@example.org', ['carol@example.org'], PLAIN);
            expect(retry.final.map(x => x.code)).toEqual([250]);
            expect((await stored('carol@example.org')).length).toBe(before + 1);
            await sub.waitFor(e => e.length >= 1, 'newmail after retry');
            expect(sub.events).toHaveLength(1);
        });

    if (target === 'maildir')
        it('gives 451 when the Maildir cannot be written, and stores the retry once', async () => {
            sub.clear();
            // A file where the user's directory should be: every write fails (root ignores modes).
            writeFileSync(path.join(maildir, 'carol@example.org'), 'not a directory');
            const r = await send(vmb.lmtpPort, 'x@example.org', ['carol@example.org'], PLAIN);
            expect(r.final.map(x => x.code)).toEqual([451]);
            rmSync(path.join(maildir, 'carol@example.org'));
            const retry = await send(vmb.lmtpPort, 'x@example.org', ['carol@example.org'], PLAIN);
            expect(retry.final.map(x => x.code)).toEqual([250]);
            expect(await stored('carol@example.org')).toHaveLength(1);
            await sub.waitFor(e => e.length >= 1, 'newmail after retry');
            expect(sub.events).toHaveLength(1);
        });
});
