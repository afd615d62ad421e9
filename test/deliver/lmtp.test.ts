// LMTP target against a real Dovecot: byte transparency over TCP and the unix socket, live RCPT
// verdicts, pooling, and every way the downstream can fail turning into 451 without a lost or
// doubled copy.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliverer } from '../../src/deliver/index.js';
import { LmtpDeliverer } from '../../src/deliver/lmtp.js';
import { parseLmtpTarget } from '../../src/deliver/target.js';
import { SmtpError } from '../../src/deliver/deliverer.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { waitFor } from '../helpers/net.js';
import { abortMidData, AFTER_ABORT, CRLF_MESSAGE, deliver, freeze, processTree, rcpt, withoutTrace } from './util.js';
import { deliverTarget } from '../../src/config-values.js';

let dovecot: TestDovecot;
beforeAll(async () => {
    dovecot = await startDovecot();
});
afterAll(async () => {
    await dovecot?.destroy();
});

const count = async (user: string) => (await dovecot.messages(user)).length;
const lmtp = (opts: { timeoutMs?: number; unix?: boolean } = {}) =>
    createDeliverer(deliverTarget.parse(opts.unix ? `lmtp:${dovecot.lmtpSocket}` : dovecot.lmtpUrl), { timeoutMs: opts.timeoutMs }) as LmtpDeliverer;
/** DATA even though Dovecot offers CHUNKING: the fallback's own guarantees against the real server. */
const lmtpData = (opts: { timeoutMs?: number } = {}) => new LmtpDeliverer({ address: parseLmtpTarget(dovecot.lmtpUrl), text: dovecot.lmtpUrl }, { ...opts, chunking: false });

describe('targets', () => {
    it('parses tcp and unix forms', () => {
        expect(parseLmtpTarget('lmtp://127.0.0.1:24')).toEqual({ host: '127.0.0.1', port: 24 });
        expect(parseLmtpTarget('lmtp://[::1]:24')).toEqual({ host: '::1', port: 24 });
        expect(parseLmtpTarget('lmtp:/run/dovecot/lmtp')).toEqual({ path: '/run/dovecot/lmtp' });
        expect(() => parseLmtpTarget('lmtp://nohost')).toThrow();
    });
});

describe.each([
    ['tcp', false],
    ['unix socket', true]
])('LMTP over %s', (_name, unix) => {
    it('stores the message byte for byte, with Dovecot session ids', async () => {
        const d = lmtp({ unix });
        try {
            const before = await count('bob@example.org');
            const sent = await deliver(d, 'alice@example.org', ['bob@example.org', 'carol@example.org'], CRLF_MESSAGE);
            expect(sent.rcpt).toEqual([true, true]);
            expect(sent.outcomes).toHaveLength(2);
            for (const o of sent.outcomes) {
                expect(o).toMatchObject({ ok: true, text: expect.stringMatching(/^2\.0\.0 .*Saved/) });
                expect(o.ok && o.downstreamId).toMatch(/^\S+$/);
            }
            const bob = await dovecot.messages('bob@example.org');
            expect(bob).toHaveLength(before + 1);
            const stored = bob[bob.length - 1].source;
            expect(withoutTrace(stored).equals(CRLF_MESSAGE)).toBe(true);
            expect(stored.toString('latin1')).toMatch(/^Return-Path: <alice@example.org>\r\n/);
        } finally {
            await d.close();
        }
    });

    it('refuses an unknown user at RCPT with 550 5.1.1 and stores the others', async () => {
        const d = lmtp({ unix });
        try {
            const before = [await count('alice@example.org'), await count('carol@example.org')];
            const sent = await deliver(d, '', ['alice@example.org', 'nobody@example.org', 'carol@example.org'], CRLF_MESSAGE);
            expect(sent.rcpt[0]).toBe(true);
            expect(sent.rcpt[1]).toBeInstanceOf(SmtpError);
            expect(sent.rcpt[1]).toMatchObject({ responseCode: 550, enhanced: '5.1.1' });
            expect((sent.rcpt[1] as Error).message).toMatch(/^5\.1\.1 <nobody@example\.org> User doesn't exist/);
            expect(sent.rcpt[2]).toBe(true);
            expect(sent.outcomes.map(o => o.ok)).toEqual([true, true]); // one per accepted recipient
            expect([await count('alice@example.org'), await count('carol@example.org')]).toEqual([before[0] + 1, before[1] + 1]);
        } finally {
            await d.close();
        }
    });
});

describe('pooling', () => {
    it('reuses one connection (one LHLO) for consecutive transactions', async () => {
        const d = lmtp();
        try {
            const ids: string[] = [];
            for (let i = 0; i < 3; i++) {
                const sent = await deliver(d, 'alice@example.org', ['bob@example.org'], CRLF_MESSAGE);
                expect(sent.outcomes[0].ok).toBe(true);
                ids.push((sent.outcomes[0] as { downstreamId: string }).downstreamId);
            }
            expect(d.pool.opened).toBe(1);
            expect(d.pool.size).toEqual({ idle: 1, busy: 0 });
            // Dovecot's id is <connection id>:<transaction>: the same connection served all three
            expect(new Set(ids.map(id => id.split(':')[0])).size).toBe(1);
        } finally {
            await d.close();
        }
    });

    it('runs transactions in parallel on separate connections, bounded by the pool size', async () => {
        const d = new LmtpDeliverer({ address: parseLmtpTarget(dovecot.lmtpUrl), text: dovecot.lmtpUrl }, { poolSize: 2 });
        try {
            const sends = Array.from({ length: 6 }, () => deliver(d, 'alice@example.org', ['carol@example.org'], CRLF_MESSAGE));
            const all = await Promise.all(sends);
            expect(all.every(s => s.outcomes[0].ok)).toBe(true);
            expect(d.pool.opened).toBe(2);
        } finally {
            await d.close();
        }
    });

    it('replaces a pooled connection the server dropped, transparently', async () => {
        const d = lmtp();
        try {
            expect((await deliver(d, 'alice@example.org', ['bob@example.org'], CRLF_MESSAGE)).outcomes[0].ok).toBe(true);
            const before = await count('bob@example.org');
            // kill the lmtp process serving our idle connection; begin() runs before the client has
            // seen the close, so the first MAIL goes to a dead connection and must be retried
            const lmtpPids = processTree(dovecot.pid!)
                .filter(p => /lmtp/.test(p.cmd))
                .map(p => p.pid);
            expect(lmtpPids.length).toBeGreaterThan(0);
            for (const p of lmtpPids) process.kill(p, 'SIGKILL');
            const sent = await deliver(d, 'alice@example.org', ['bob@example.org'], CRLF_MESSAGE);
            expect(sent.rcpt).toEqual([true]);
            expect(sent.outcomes[0].ok).toBe(true);
            expect(d.pool.opened).toBe(2);
            expect(await count('bob@example.org')).toBe(before + 1);
        } finally {
            await d.close();
        }
    });
});

describe('downstream failures', () => {
    it('Dovecot stopped: 451 at RCPT, or per recipient after DATA; after restart a retry is stored once', async () => {
        const d = lmtp({ timeoutMs: 5000 });
        try {
            expect((await deliver(d, 'alice@example.org', ['carol@example.org'], CRLF_MESSAGE)).outcomes[0].ok).toBe(true);
            const before = await count('carol@example.org');

            // stopped between RCPT and DATA
            const txn = await d.begin({ from: 'alice@example.org', sessionId: 't1' });
            await txn.addRecipient(rcpt('carol@example.org'));
            await dovecot.stop();
            const outcomes = await txn.data(new PassThrough().end(CRLF_MESSAGE));
            expect(outcomes).toHaveLength(1);
            expect(outcomes[0]).toMatchObject({ ok: false, error: { responseCode: 451 } });

            // stopped before the transaction: refused at RCPT
            const down = await deliver(d, 'alice@example.org', ['carol@example.org'], CRLF_MESSAGE);
            expect(down.rcpt[0]).toMatchObject({ responseCode: 451, enhanced: '4.4.1' });
            expect(down.outcomes).toEqual([]);

            await dovecot.start();
            const retry = await deliver(d, 'alice@example.org', ['carol@example.org'], CRLF_MESSAGE);
            expect(retry.outcomes[0].ok).toBe(true);
            expect(await count('carol@example.org')).toBe(before + 1);
        } finally {
            await d.close();
            if (!dovecot.pid) await dovecot.start();
        }
    });

    it('a frozen Dovecot (SIGSTOP) gives 451 after the timeout, at RCPT or after DATA (DATA: the 354 is the liveness check)', async () => {
        const d = lmtpData({ timeoutMs: 400 });
        let thaw = () => {};
        try {
            const before = await count('alice@example.org');
            const txn = await d.begin({ from: 'bob@example.org', sessionId: 't2' });
            await txn.addRecipient(rcpt('alice@example.org'));
            thaw = await freeze(dovecot.pid!);
            const outcomes = await txn.data(new PassThrough().end(CRLF_MESSAGE));
            expect(outcomes[0]).toMatchObject({ ok: false, error: { responseCode: 451, enhanced: '4.4.2' } });

            const frozen = await deliver(d, 'bob@example.org', ['alice@example.org'], CRLF_MESSAGE);
            expect(frozen.rcpt[0]).toMatchObject({ responseCode: 451 });
            thaw();

            const after = await deliver(d, 'bob@example.org', ['alice@example.org'], CRLF_MESSAGE);
            expect(after.outcomes[0].ok).toBe(true);
            expect(await count('alice@example.org')).toBe(before + 1);
        } finally {
            thaw();
            await d.close();
        }
    });

    it.each([
        ['BDAT', lmtp],
        ['DATA', lmtpData]
    ])('abort() mid-body (%s) stores nothing', async (_name, make) => {
        const d = make();
        try {
            const before = await count('bob@example.org');
            expect((await abortMidData(d, 'bob@example.org'))[0]).toMatchObject({ ok: false, error: { responseCode: 451 } });
            // a later delivery on the same deliverer lands, the aborted one never does
            expect((await deliver(d, 'alice@example.org', ['bob@example.org'], AFTER_ABORT)).outcomes[0].ok).toBe(true);
            const bob = await dovecot.messages('bob@example.org');
            expect(bob).toHaveLength(before + 1);
            expect(withoutTrace(bob[bob.length - 1].source).equals(AFTER_ABORT)).toBe(true);
        } finally {
            await d.close();
        }
    });

    it('abort() before DATA resets the session and keeps the connection', async () => {
        const d = lmtp();
        try {
            const txn = await d.begin({ from: 'alice@example.org', sessionId: 't4' });
            await txn.addRecipient(rcpt('bob@example.org'));
            txn.abort();
            await waitFor(() => d.pool.size.idle === 1, 5000, 'connection back in the pool');
            expect((await deliver(d, 'alice@example.org', ['bob@example.org'], CRLF_MESSAGE)).outcomes[0].ok).toBe(true);
            expect(d.pool.opened).toBe(1);
        } finally {
            await d.close();
        }
    });
});
