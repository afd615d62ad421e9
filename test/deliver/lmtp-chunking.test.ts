// When BDAT is used and what a refused chunk does (unit: a scripted LMTP server on loopback that
// speaks MAIL/RCPT/DATA/BDAT): without CHUNKING (or PIPELINING) the body goes with DATA; a chunk
// Dovecot refuses is every recipient's reply, and no LAST follows it.
import net from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { afterEach, expect, it } from 'vitest';
import { LmtpDeliverer } from '../../src/deliver/lmtp.js';
import { rcpt } from './util.js';
import { BDAT_CHUNK_MIN } from '../../src/limits.js';

interface Fake {
    url: string;
    /** Command lines received, in order (BDAT payloads skipped). */
    commands: string[];
    close(): Promise<void>;
}

let fake: Fake | undefined;
afterEach(async () => {
    await fake?.close();
    fake = undefined;
});

/** caps: LHLO keywords; refuseChunk: the 0-based BDAT answered with 552 (later ones get 503, as RFC 3030 has the server discard them). */
async function fakeLmtp(caps: string[], refuseChunk = -1): Promise<Fake> {
    const commands: string[] = [];
    const socks = new Set<net.Socket>();
    const server = net.createServer(s => {
        socks.add(s);
        s.on('close', () => socks.delete(s));
        s.write('220 fake\r\n');
        let buf = Buffer.alloc(0);
        let rcpts = 0;
        let chunks = 0;
        let failed = false;
        let skip = 0;
        let last = false;
        let inData = false;
        const step = () => {
            for (;;) {
                if (skip > 0) {
                    const n = Math.min(skip, buf.length);
                    buf = buf.subarray(n);
                    skip -= n;
                    if (skip > 0) return;
                    answerChunk();
                    continue;
                }
                if (inData) {
                    const end = buf.indexOf('\r\n.\r\n');
                    if (end < 0) return;
                    buf = buf.subarray(end + 5);
                    inData = false;
                    for (let i = 0; i < rcpts; i++) s.write('250 2.0.0 <r> id Saved\r\n');
                    continue;
                }
                const nl = buf.indexOf('\r\n');
                if (nl < 0) return;
                const line = buf.subarray(0, nl).toString('latin1');
                buf = buf.subarray(nl + 2);
                commands.push(line);
                const bdat = /^BDAT (\d+)( LAST)?$/.exec(line);
                if (line.startsWith('LHLO')) s.write(['250-fake', ...caps.map(c => `250-${c}`), '250 8BITMIME'].join('\r\n') + '\r\n');
                else if (line.startsWith('MAIL')) s.write('250 2.1.0 OK\r\n');
                else if (line.startsWith('RCPT')) {
                    rcpts++;
                    s.write('250 2.1.5 OK\r\n');
                } else if (line === 'DATA') {
                    inData = true;
                    s.write('354 go\r\n');
                } else if (bdat) {
                    skip = Number(bdat[1]);
                    last = !!bdat[2];
                    if (skip === 0) answerChunk();
                } else if (line === 'QUIT') s.end('221 bye\r\n');
                else s.write('250 OK\r\n');
            }
        };
        const answerChunk = () => {
            if (failed) s.write('503 5.5.1 earlier chunk failed\r\n');
            else if (chunks === refuseChunk) {
                failed = true;
                // as Dovecot's lib-smtp: a failed LAST is answered once per recipient
                for (let i = 0; i < (last ? rcpts : 1); i++) s.write('552 5.3.4 Message too big\r\n');
            } else if (!last) s.write('250 2.0.0 chunk OK\r\n');
            else for (let i = 0; i < rcpts; i++) s.write('250 2.0.0 <r> id Saved\r\n');
            chunks++;
        };
        s.on('data', d => {
            buf = Buffer.concat([buf, d]);
            step();
        });
        s.on('error', () => undefined);
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    return {
        url: `lmtp://127.0.0.1:${port}`,
        commands,
        close: () =>
            new Promise<void>(r => {
                for (const s of socks) s.destroy();
                server.close(() => r());
            })
    };
}

/** One transaction to the fake; body: the pieces, or a stream fed by `feed` once DATA/BDAT began. */
async function send(f: Fake, body: Buffer[] | Readable, feed?: () => void, to = ['a@x', 'b@x']) {
    const d = new LmtpDeliverer({ address: { host: '127.0.0.1', port: Number(f.url.split(':')[2]) }, text: f.url }, { timeoutMs: 5000 });
    try {
        const txn = await d.begin({ from: 's@x', sessionId: 'fake' });
        for (const a of to) await txn.addRecipient(rcpt(a));
        const pending = txn.data(Array.isArray(body) ? Readable.from(body) : body);
        feed?.();
        return await pending;
    } finally {
        await d.close();
    }
}

const verbs = (f: Fake) => f.commands.map(c => c.split(' ')[0]);

it('uses DATA when the server does not offer CHUNKING', async () => {
    fake = await fakeLmtp(['PIPELINING', 'ENHANCEDSTATUSCODES']);
    const outcomes = await send(fake, [Buffer.from('Subject: x\r\n\r\n.dot\r\n')]);
    expect(outcomes.map(o => o.ok)).toEqual([true, true]);
    expect(verbs(fake)).toContain('DATA');
    expect(verbs(fake)).not.toContain('BDAT');
});

it('uses DATA when CHUNKING comes without PIPELINING (chunks would have to wait for each reply)', async () => {
    fake = await fakeLmtp(['CHUNKING']);
    expect((await send(fake, [Buffer.from('Subject: x\r\n\r\nbody\r\n')])).map(o => o.ok)).toEqual([true, true]);
    expect(verbs(fake)).toContain('DATA');
});

it('uses BDAT with CHUNKING and PIPELINING: small pieces coalesced into one BDAT LAST', async () => {
    fake = await fakeLmtp(['PIPELINING', 'CHUNKING']);
    const pieces = Array.from({ length: 20 }, () => Buffer.from('0123456789\r\n'));
    expect((await send(fake, pieces)).map(o => o.ok)).toEqual([true, true]);
    expect(fake.commands.filter(c => c.startsWith('BDAT'))).toEqual(['BDAT 240 LAST']);
    expect(verbs(fake)).not.toContain('DATA');
});

it("a refused chunk is every recipient's reply at once, and no LAST follows it", async () => {
    fake = await fakeLmtp(['PIPELINING', 'CHUNKING'], 0);
    const body = new PassThrough();
    const outcomes = await send(fake, body, () => body.write(Buffer.alloc(BDAT_CHUNK_MIN, 'a')));
    // answered while the MTA's message is still open: the rest is read and dropped
    expect(body.writableEnded).toBe(false);
    expect(outcomes).toHaveLength(2);
    for (const o of outcomes) expect(o).toMatchObject({ ok: false, error: { responseCode: 552, enhanced: '5.3.4' } });
    body.end(Buffer.alloc(BDAT_CHUNK_MIN, 'b'));
    await finished(body);
    expect(fake.commands.filter(c => c.startsWith('BDAT'))).toEqual([`BDAT ${BDAT_CHUNK_MIN}`]);
});

it("a chunk refused after LAST went out is still every recipient's reply", async () => {
    fake = await fakeLmtp(['PIPELINING', 'CHUNKING'], 0);
    // one chunk of the minimum size, then the (empty) LAST in the same breath: the refusal comes after it
    const outcomes = await send(fake, [Buffer.alloc(BDAT_CHUNK_MIN, 'a')]);
    for (const o of outcomes) expect(o).toMatchObject({ ok: false, error: { responseCode: 552 } });
    expect(fake.commands.filter(c => c.startsWith('BDAT'))).toEqual([`BDAT ${BDAT_CHUNK_MIN}`, 'BDAT 0 LAST']);
});

it("a refused LAST is each recipient's reply", async () => {
    fake = await fakeLmtp(['PIPELINING', 'CHUNKING'], 0);
    const outcomes = await send(fake, [Buffer.from('Subject: x\r\n\r\nsmall\r\n')]);
    expect(outcomes).toHaveLength(2);
    for (const o of outcomes) expect(o).toMatchObject({ ok: false, error: { responseCode: 552, enhanced: '5.3.4' } });
});

it('groups pieces read into chunks of at least BDAT_CHUNK_MIN, each one BDAT, the rest with LAST', async () => {
    fake = await fakeLmtp(['PIPELINING', 'CHUNKING']);
    const piece = Buffer.alloc(40 * 1024, 'b');
    expect((await send(fake, [piece, piece, piece, piece, piece])).map(o => o.ok)).toEqual([true, true]);
    const two = 2 * piece.length;
    expect(fake.commands.filter(c => c.startsWith('BDAT'))).toEqual([`BDAT ${two}`, `BDAT ${two}`, `BDAT ${piece.length} LAST`]);
});
