// BDAT (CHUNKING) to a real Dovecot, 2.3 and 2.4, through a recording proxy: the body goes as it
// is (lines starting with '.', a lone '.' line, no CRLF at the end, nothing at all), a large body
// in several chunks and one LAST, a source that breaks or a transaction aborted mid-body never
// sends a LAST and stores nothing, and a Dovecot frozen before the body is noticed by the
// data-done timeout (the liveness DATA's 354 gave is gone; the lead's decision, lmtp.ts).
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LmtpDeliverer, type LmtpOptions } from '../../src/deliver/lmtp.js';
import { parseLmtpTarget } from '../../src/deliver/target.js';
import type { TestDovecot } from '../helpers/dovecot.js';
import { DOVECOT_VERSIONS, dovecotOf, ROOT_BUILD_TIMEOUT } from '../helpers/dovecot24.js';
import { waitFor } from '../helpers/net.js';
import { lmtpProxy, type LmtpProxy } from './lmtp-proxy.js';
import { BDAT_CHUNK_MIN } from '../../src/limits.js';
import { abortMidData, AFTER_ABORT, CRLF_MESSAGE, deliver, freeze, rcpt, withoutTrace } from './util.js';

describe.each(DOVECOT_VERSIONS)('BDAT to Dovecot %s', version => {
    let dovecot: TestDovecot;
    let proxy: LmtpProxy;
    beforeAll(async () => {
        dovecot = await dovecotOf(version).start();
        proxy = await lmtpProxy(dovecot.lmtpPort);
    }, ROOT_BUILD_TIMEOUT);
    afterAll(async () => {
        await proxy?.close();
        await dovecot?.destroy();
    });

    const count = async (user: string) => (await dovecot.messages(user)).length;
    const sent = () => proxy.chunks.join('');
    const withDeliverer = async (fn: (d: LmtpDeliverer) => Promise<void>, opts: LmtpOptions = {}) => {
        proxy.chunks.length = 0;
        const d = new LmtpDeliverer({ address: parseLmtpTarget(proxy.url), text: proxy.url }, { timeoutMs: 5000, ...opts });
        try {
            await fn(d);
        } finally {
            await d.close();
        }
    };
    const last = async (user: string) => {
        const all = await dovecot.messages(user);
        return withoutTrace(all[all.length - 1].source);
    };

    it('Dovecot offers CHUNKING, and the body goes in one BDAT LAST without DATA', async () => {
        await withDeliverer(async d => {
            const r = await deliver(d, 'alice@example.org', ['bob@example.org'], CRLF_MESSAGE);
            expect(r.outcomes[0].ok).toBe(true);
            expect(sent()).toContain(`BDAT ${CRLF_MESSAGE.length} LAST\r\n`);
            expect(sent()).not.toMatch(/^DATA\r\n/m);
        });
    });

    const bodies: [string, Buffer][] = [
        ['lines starting with dots and a lone dot line', Buffer.from('.first line is a dot line\r\nSubject: dots\r\n\r\n..two\r\n.\r\n.\r\nend\r\n', 'latin1')],
        ['a body without CRLF at its end', Buffer.from('Subject: no final CRLF\r\n\r\nlast line without an end', 'latin1')]
    ];
    it.each(bodies)('stores %s byte for byte', async (_name, message) => {
        await withDeliverer(async d => {
            const before = await count('carol@example.org');
            const r = await deliver(d, 'alice@example.org', ['carol@example.org'], message);
            expect(r.outcomes[0].ok).toBe(true);
            expect(await count('carol@example.org')).toBe(before + 1);
            expect((await last('carol@example.org')).equals(message)).toBe(true);
        });
    });

    it('keeps a dot after a bare LF as it is (DATA to Dovecot 2.4 stored it doubled)', async () => {
        // Dovecot 2.4 unstuffs only after CRLF, so DATA's "\n..dot" was stored as "..dot" there
        const message = Buffer.from('Subject: lf\n\n.dot\nline\r\n', 'latin1');
        await withDeliverer(async d => {
            expect((await deliver(d, 'alice@example.org', ['carol@example.org'], message)).outcomes[0].ok).toBe(true);
            // IMAP shows the stored LF line ends as CRLF
            expect((await last('carol@example.org')).toString('latin1')).toBe('Subject: lf\r\n\r\n.dot\r\nline\r\n');
        });
    });

    it('a 0-byte body is BDAT 0 LAST, answered per recipient', async () => {
        await withDeliverer(async d => {
            const r = await deliver(d, 'alice@example.org', ['bob@example.org', 'carol@example.org'], Buffer.alloc(0));
            expect(sent()).toContain('BDAT 0 LAST\r\n');
            expect(r.outcomes).toHaveLength(2);
            // whatever Dovecot makes of an empty message, each recipient has its own answer
            for (const o of r.outcomes) expect(o.ok ? o.text : o.error.responseCode).toBeTruthy();
        });
    });

    it('a large body goes in several chunks and one LAST, stored byte for byte', async () => {
        const body = randomBytes(300 * 1024)
            .toString('base64')
            .replace(/.{76}/g, '$&\r\n');
        const message = Buffer.from(`Subject: chunks\r\n\r\n${body}\r\n.dot line\r\n`, 'latin1');
        await withDeliverer(async d => {
            const txn = await d.begin({ from: 'alice@example.org', sessionId: 'chunks' });
            await txn.addRecipient(rcpt('bob@example.org'));
            const pieces = Array.from({ length: Math.ceil(message.length / 65536) }, (_, i) => message.subarray(i * 65536, (i + 1) * 65536));
            const outcomes = await txn.data(Readable.from(pieces));
            expect(outcomes[0].ok).toBe(true);
            const commands = sent().match(/BDAT \d+( LAST)?\r\n/g) ?? [];
            expect(commands.length).toBeGreaterThan(2);
            expect(commands.filter(c => c.includes('LAST'))).toHaveLength(1);
            expect(commands[commands.length - 1]).toMatch(/LAST/);
            expect((await last('bob@example.org')).equals(message)).toBe(true);
        });
    });

    it('a source that breaks mid-body never sends LAST: 451, nothing stored', async () => {
        await withDeliverer(async d => {
            const before = await count('bob@example.org');
            const txn = await d.begin({ from: 'alice@example.org', sessionId: 'broken' });
            await txn.addRecipient(rcpt('bob@example.org'));
            const body = new PassThrough();
            const pending = txn.data(body);
            body.write(Buffer.alloc(BDAT_CHUNK_MIN + 1024, 'a'));
            await waitFor(() => /BDAT \d+\r\n/.test(sent()), 5000, 'a first chunk at Dovecot');
            body.destroy(new Error('client went away'));
            const outcomes = await pending;
            expect(outcomes[0]).toMatchObject({ ok: false, error: { responseCode: 451 } });
            expect(sent()).not.toContain('LAST');
            // a later delivery lands; the broken one never does
            expect((await deliver(d, 'alice@example.org', ['bob@example.org'], AFTER_ABORT)).outcomes[0].ok).toBe(true);
            expect(await count('bob@example.org')).toBe(before + 1);
            expect((await last('bob@example.org')).equals(AFTER_ABORT)).toBe(true);
        });
    });

    it('abort() mid-body stores nothing and sends no LAST', async () => {
        await withDeliverer(async d => {
            const before = await count('bob@example.org');
            expect((await abortMidData(d, 'bob@example.org'))[0]).toMatchObject({ ok: false, error: { responseCode: 451 } });
            expect(sent()).not.toContain('LAST');
            expect((await deliver(d, 'alice@example.org', ['bob@example.org'], AFTER_ABORT)).outcomes[0].ok).toBe(true);
            expect(await count('bob@example.org')).toBe(before + 1);
        });
    });

    it('a Dovecot frozen before the body: 451 when the data-done timeout ends the wait', async () => {
        let thaw = () => {};
        try {
            await withDeliverer(
                async d => {
                    const txn = await d.begin({ from: 'bob@example.org', sessionId: 'frozen' });
                    await txn.addRecipient(rcpt('alice@example.org'));
                    thaw = await freeze(dovecot.pid!);
                    const outcomes = await txn.data(new PassThrough().end(CRLF_MESSAGE));
                    expect(outcomes[0]).toMatchObject({ ok: false, error: { responseCode: 451 } });
                    // the long wait, not the phase timeout: the whole body and LAST were out
                    expect((outcomes[0] as { error: Error }).error.message).toContain('(900 ms)');
                    expect(sent()).toContain('LAST');
                },
                { timeoutMs: 300, dataDoneTimeoutMs: 900 }
            );
        } finally {
            thaw();
        }
    });
});
