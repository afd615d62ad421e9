// examples/postfix (transport map + main.cf lines) proven end to end: a real Postfix with those
// files → `vmbridge serve` (child process, as deployed) → a real Dovecot over LMTP, and the events
// at a `vmbridge listen` child process.
//
// What the test changes in the examples, and why (substitute() fails if the text moved):
// - transport: 127.0.0.1:2424 → 127.0.0.1:<free port>, so parallel tests never share a port;
// - /etc/postfix/ → the instance's own config directory (test/helpers/postfix.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort, waitFor } from '../helpers/net.js';
import { postfixExample, startPostfix, substitute, type TestPostfix } from '../helpers/postfix.js';
import { PLAIN, storedAsSent, VOICEMAIL, VOICEMAIL_NEWMAIL } from './voicemail.js';
import { sideListeners, startListen, startServe, type Listener, type Serve } from './cli.js';

const PROBE_USER = 'carol@example.org';

describe('Postfix transport map → vmbridge (LMTP) → Dovecot', () => {
    let dovecot: TestDovecot;
    let postfix: TestPostfix;
    let serve: Serve | undefined;
    let listener: Listener;
    let serveArgs: string[];
    let bridgePort: number;
    let adminPort: number;

    /** Delivers probes straight to vmbridge until the listener shows one: its SUB is connected. */
    async function listenerReady(): Promise<void> {
        const seen = () => listener.events.filter(e => e.user === PROBE_USER).length;
        const before = seen();
        await waitFor(
            async () => {
                await send(bridgePort, '', [PROBE_USER], PLAIN);
                return waitFor(() => seen() > before, 300).catch(() => false);
            },
            15_000,
            'listen subscription'
        );
    }

    beforeAll(async () => {
        dovecot = await startDovecot();
        bridgePort = await freePort();
        adminPort = await freePort();
        serveArgs = ['--lmtp', `127.0.0.1:${bridgePort}`, '--deliver', dovecot.lmtpUrl, ...(await sideListeners()), '--admin', `127.0.0.1:${adminPort}`];
        postfix = await startPostfix({
            mainCf: postfixExample('main.cf'),
            maps: { transport: substitute(postfixExample('transport'), [['lmtp:inet:127.0.0.1:2424', `lmtp:inet:127.0.0.1:${bridgePort}`]]) }
        });
        serve = await startServe(serveArgs);
        listener = startListen(['--connect', serveArgs[serveArgs.indexOf('--publish') + 1]]);
        await listenerReady();
    });

    afterAll(async () => {
        await listener?.stop();
        await serve?.stop();
        await postfix?.destroy();
        await dovecot?.destroy();
    });

    it('delivers a voicemail sent to Postfix into Dovecot byte for byte and announces it', async () => {
        const r = await send(postfix.smtpPort, 'asterisk@pbx.example.org', ['alice@example.org'], VOICEMAIL, { lmtp: false });
        expect(r.final.map(x => x.code)).toEqual([250]); // queued by Postfix

        const [sent] = await postfix.waitForDelivery('alice@example.org', 'sent');
        expect(sent).toMatch(/relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+.*status=sent \(250 /);
        const msgs = await dovecot.messages('alice@example.org');
        expect(msgs).toHaveLength(1);
        expect(storedAsSent(msgs[0].source, VOICEMAIL)).toBe(true);
        expect(msgs[0].source.toString('latin1')).toMatch(/^Return-Path: <asterisk@pbx\.example\.org>\r\n/);

        const [ev] = await waitFor(
            () => {
                const evs = listener.events.filter(e => e.user === 'alice@example.org');
                return evs.length ? evs : null;
            },
            10_000,
            'newmail at listen'
        );
        expect(ev).toMatchObject(VOICEMAIL_NEWMAIL);
        expect(listener.invalid).toEqual([]);
    });

    it('passes Dovecot’s unknown-user refusal back: Postfix bounces with 550 5.1.1', async () => {
        // Null sender: the bounce is not mailed anywhere, only logged.
        const r = await send(postfix.smtpPort, '', ['nobody@example.org'], PLAIN, { lmtp: false });
        expect(r.final.map(x => x.code)).toEqual([250]);
        const [line] = await postfix.waitForDelivery('nobody@example.org', 'bounced');
        expect(line).toMatch(/\b550[ -]5\.1\.1\b/);
    });

    it('keeps mail queued while vmbridge is down and delivers it exactly once after a flush', async () => {
        await serve?.stop();
        serve = undefined;
        const r = await send(postfix.smtpPort, 'carol@example.org', ['bob@example.org'], PLAIN, { lmtp: false });
        expect(r.final.map(x => x.code)).toEqual([250]);
        const [deferred] = await postfix.waitForDelivery('bob@example.org', 'deferred');
        expect(deferred).toMatch(/connect to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: Connection refused/);
        expect((await postfix.queue()).flatMap(m => m.recipients.map(x => x.address))).toContain('bob@example.org');
        expect(await dovecot.messages('bob@example.org')).toHaveLength(0);

        serve = await startServe(serveArgs);
        await listenerReady();
        await postfix.flush();
        await postfix.waitForDelivery('bob@example.org', 'sent');

        const msgs = await dovecot.messages('bob@example.org');
        expect(msgs).toHaveLength(1);
        expect(storedAsSent(msgs[0].source, PLAIN)).toBe(true);
        expect(await postfix.queue()).toEqual([]);
        await waitFor(() => listener.events.some(e => e.user === 'bob@example.org'), 10_000, 'newmail for bob');
        expect(listener.events.filter(e => e.user === 'bob@example.org' && e.type === 'newmail')).toHaveLength(1);
        expect(postfix.deliveries('bob@example.org').filter(l => l.includes('status=sent'))).toHaveLength(1);

        // The troubleshooting metrics (docs/deploy.md) count the same deliveries.
        const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
        expect(metrics).toMatch(/^vmbridge_messages_total\{class="email",outcome="stored"\} [1-9]/m);
    });
});
