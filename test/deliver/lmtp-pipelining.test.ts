// MAIL FROM goes to Dovecot together with the first RCPT TO, in one write (PIPELINING), rather
// than on its own at MAIL time. Against a real Dovecot, through a recording proxy: the write
// pattern itself, per-recipient verdicts under it, a refused MAIL, Dovecot hanging up in the
// middle of the pipelined commands (451, nothing stored, the retry stored once), and a body
// larger than the socket buffers.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LmtpDeliverer } from '../../src/deliver/lmtp.js';
import { parseLmtpTarget } from '../../src/deliver/target.js';
import { SmtpError } from '../../src/deliver/deliverer.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { CRLF_MESSAGE, deliver, rcpt, withoutTrace } from './util.js';
import { lmtpProxy, type LmtpProxy } from './lmtp-proxy.js';

let dovecot: TestDovecot;
let proxy: LmtpProxy;
let d: LmtpDeliverer;
beforeAll(async () => {
    dovecot = await startDovecot();
    proxy = await lmtpProxy(dovecot.lmtpPort);
});
afterEach(async () => {
    await d?.close();
    proxy.cut = undefined;
    proxy.chunks.length = 0;
});
afterAll(async () => {
    await proxy?.close();
    await dovecot?.destroy();
});

const count = async (user: string) => (await dovecot.messages(user)).length;
const fresh = (timeoutMs = 5000) => (d = new LmtpDeliverer({ address: parseLmtpTarget(proxy.url), text: proxy.url }, { timeoutMs }));

describe('MAIL pipelined with the first RCPT', () => {
    it('sends MAIL FROM and the first RCPT TO in one write; later RCPTs and the body (BDAT LAST) follow; stored', async () => {
        const before = await count('bob@example.org');
        const sent = await deliver(fresh(), 'alice@example.org', ['bob@example.org', 'carol@example.org'], CRLF_MESSAGE);
        expect(sent.rcpt).toEqual([true, true]);
        expect(sent.outcomes.map(o => o.ok)).toEqual([true, true]);
        const commands = proxy.chunks.filter(c => /^(MAIL|RCPT|DATA|BDAT)/.test(c));
        const body = `BDAT ${CRLF_MESSAGE.length} LAST\r\n${CRLF_MESSAGE.toString('latin1')}`; // one send, no DATA round trip
        expect(commands.slice(0, 3)).toEqual(['MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n', 'RCPT TO:<carol@example.org>\r\n', body]);
        expect(await count('bob@example.org')).toBe(before + 1);
    });

    it('with DATA (chunking off): DATA after the RCPTs, stored', async () => {
        d = new LmtpDeliverer({ address: parseLmtpTarget(proxy.url), text: proxy.url }, { timeoutMs: 5000, chunking: false });
        const sent = await deliver(d, 'alice@example.org', ['bob@example.org', 'carol@example.org'], CRLF_MESSAGE);
        expect(sent.outcomes.map(o => o.ok)).toEqual([true, true]);
        const commands = proxy.chunks.filter(c => /^(MAIL|RCPT|DATA|BDAT)/.test(c));
        expect(commands.slice(0, 3)).toEqual(['MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n', 'RCPT TO:<carol@example.org>\r\n', 'DATA\r\n']);
    });

    it('a refused first recipient gets its own 550 and the others are stored', async () => {
        const before = [await count('alice@example.org'), await count('carol@example.org')];
        const sent = await deliver(fresh(), '', ['nobody@example.org', 'alice@example.org', 'carol@example.org'], CRLF_MESSAGE);
        expect(sent.rcpt[0]).toBeInstanceOf(SmtpError);
        expect(sent.rcpt[0]).toMatchObject({ responseCode: 550, enhanced: '5.1.1' });
        expect(sent.rcpt.slice(1)).toEqual([true, true]);
        expect(sent.outcomes.map(o => o.ok)).toEqual([true, true]);
        expect([await count('alice@example.org'), await count('carol@example.org')]).toEqual([before[0] + 1, before[1] + 1]);
        expect(proxy.chunks.some(c => c === 'MAIL FROM:<>\r\nRCPT TO:<nobody@example.org>\r\n')).toBe(true);
    });

    it("a refused MAIL is every recipient's reply; the connection stays usable", async () => {
        fresh();
        const sent = await deliver(d, 'not an address', ['bob@example.org', 'carol@example.org'], CRLF_MESSAGE);
        for (const r of sent.rcpt) expect(r).toMatchObject({ responseCode: 501 });
        expect(sent.outcomes).toEqual([]);
        const before = await count('bob@example.org');
        expect((await deliver(d, 'alice@example.org', ['bob@example.org'], CRLF_MESSAGE)).outcomes[0].ok).toBe(true);
        expect(d.pool.opened).toBe(1);
        expect(await count('bob@example.org')).toBe(before + 1);
    });
});

describe('Dovecot hanging up mid-pipeline', () => {
    it('on a fresh connection: 451 at RCPT, nothing stored; the retry is stored once', async () => {
        fresh();
        const before = await count('carol@example.org');
        proxy.cut = /^MAIL FROM:.*\r\nRCPT TO:/;
        const cut = await deliver(d, 'alice@example.org', ['carol@example.org'], CRLF_MESSAGE);
        expect(proxy.cuts).toBeGreaterThan(0);
        expect(cut.rcpt[0]).toMatchObject({ responseCode: 451, enhanced: '4.4.2' });
        expect(cut.outcomes).toEqual([]);
        const retry = await deliver(d, 'alice@example.org', ['carol@example.org'], CRLF_MESSAGE);
        expect(retry.outcomes[0].ok).toBe(true);
        expect(await count('carol@example.org')).toBe(before + 1);
    });

    it('on a pooled connection: replaced transparently, stored once', async () => {
        fresh();
        expect((await deliver(d, 'alice@example.org', ['carol@example.org'], CRLF_MESSAGE)).outcomes[0].ok).toBe(true);
        const before = await count('carol@example.org');
        proxy.cut = /^MAIL FROM:.*\r\nRCPT TO:/;
        const sent = await deliver(d, 'alice@example.org', ['carol@example.org'], CRLF_MESSAGE);
        expect(proxy.cuts).toBeGreaterThan(0);
        expect(proxy.cut).toBeUndefined();
        expect(sent.rcpt).toEqual([true]);
        expect(sent.outcomes[0].ok).toBe(true);
        expect(d.pool.opened).toBe(2);
        expect(await count('carol@example.org')).toBe(before + 1);
    });

    it('during the body: 451 per recipient, nothing stored', async () => {
        fresh();
        const before = [await count('bob@example.org'), await count('carol@example.org')];
        proxy.cut = /^(BDAT \d+ LAST\r\n)?From: A/;
        const sent = await deliver(d, 'alice@example.org', ['bob@example.org', 'carol@example.org'], CRLF_MESSAGE);
        expect(sent.rcpt).toEqual([true, true]);
        for (const o of sent.outcomes) expect(o).toMatchObject({ ok: false, error: { responseCode: 451 } });
        expect([await count('bob@example.org'), await count('carol@example.org')]).toEqual(before);
    });
});

it('stores a body larger than the socket buffers byte for byte', async () => {
    // 6 MB: more than the loopback send buffer's ceiling (tcp_wmem 4 MB), so writes wait for drain
    const body = randomBytes(4.5 * 1024 * 1024)
        .toString('base64')
        .replace(/.{76}/g, '$&\r\n');
    const message = Buffer.from(`Subject: large\r\nMessage-ID: <large@test>\r\n\r\n${body}\r\n.starts with a dot\r\n`, 'latin1');
    expect(message.length).toBeGreaterThan(6 * 1024 * 1024);
    const txn = await fresh(30_000).begin({ from: 'alice@example.org', sessionId: 'large' });
    await txn.addRecipient(rcpt('bob@example.org'));
    const chunks = Array.from({ length: Math.ceil(message.length / 65536) }, (_, i) => message.subarray(i * 65536, (i + 1) * 65536));
    const outcomes = await txn.data(Readable.from(chunks));
    expect(outcomes[0].ok).toBe(true);
    const bob = await dovecot.messages('bob@example.org');
    expect(withoutTrace(bob[bob.length - 1].source).equals(message)).toBe(true);
}, 60_000);
