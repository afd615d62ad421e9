// A large hook batch (a STORE over a whole mailbox) is validated and normalised in slices of
// HOOK_EVENT_SLICE events, yielding to the event loop between them, with the same verdict and
// result as in one piece; over a stream, the lines after it still come in order.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchSchema, type Batch } from '../../src/hook/batch.js';
import { IngestServer } from '../../src/hook/ingest.js';
import { normalize, normalizeInSlices } from '../../src/hook/normalize.js';
import { validateBatch } from '../../src/hook/validate.js';
import { HOOK_EVENT_SLICE } from '../../src/limits.js';
import { createLogger } from '../../src/log.js';
import { helloLine, nowTs, postHeaders, signedLine } from '../helpers/hook-sign.js';
import { waitFor } from '../helpers/net.js';

const TOKEN = 'hook-slices-token-0123456789abcdef';
const N = 3 * HOOK_EVENT_SLICE + 17;
const names = ['FlagsSet', 'FlagsClear', 'MessageRead', 'MessageNew', 'MessageExpunge', 'MessageAppend', 'MessageTrash'] as const;
const event = (i: number) => ({
    name: names[i % names.length],
    mailbox: i % 3 ? 'INBOX' : 'Archive',
    uid: (i % 500) + 1, // several events per message: they fold into one item
    uid_validity: 7,
    message_id: `<m${i}@x>`,
    flags: i % 4 ? ['\\Seen'] : [],
    keywords: i % 5 ? undefined : ['$Label1'],
    extra: 'dropped by the schema'
});
const big = (proc = 'p', seq = 1, n = N) => ({ proc, seq, ts: nowTs(), user: 'alice', events: Array.from({ length: n }, (_, i) => event(i)) });

/** Counts turns of the event loop that ran while `p` was pending: > 0 means it yielded. */
async function turnsWhile<T>(p: T | Promise<T>): Promise<{ value: T; turns: number }> {
    let turns = 0;
    let done = false;
    const tick = () => setImmediate(() => !done && (turns++, tick()));
    tick();
    const value = await p;
    done = true;
    return { value, turns };
}

describe('hook batches in slices', () => {
    it('validates a large batch in slices, yielding, with the result of the whole schema', async () => {
        const raw = big();
        const r = validateBatch(raw);
        expect(r).toBeInstanceOf(Promise);
        const { value, turns } = await turnsWhile(r);
        expect(turns).toBeGreaterThanOrEqual(2); // 4 slices: 3 yields
        expect(value).toEqual(BatchSchema.parse(raw));
    });

    it('refuses a large batch whose last slice holds one bad event, and one over the event cap, as the schema does', async () => {
        const raw = big();
        (raw.events[N - 1] as { uid: unknown }).uid = -1;
        expect(BatchSchema.safeParse(raw).success).toBe(false);
        expect(await validateBatch(raw)).toBeUndefined();
        expect(await validateBatch({ ...big(), events: Array.from({ length: 100_001 }, (_, i) => event(i)) })).toBeUndefined();
        expect(await validateBatch({ ...big(), proc: '' })).toBeUndefined();
    });

    it('validates a small batch at once (no Promise)', () => {
        const raw = big('p', 1, 3);
        expect(validateBatch(raw)).toEqual(BatchSchema.parse(raw));
    });

    it('normalises a large batch in slices to the same items', async () => {
        const batch = BatchSchema.parse(big());
        const r = normalizeInSlices(batch);
        expect(r).toBeInstanceOf(Promise);
        const { value, turns } = await turnsWhile(r);
        expect(turns).toBeGreaterThanOrEqual(2);
        expect(value).toEqual(normalize(batch));
        expect(value.length).toBeGreaterThan(500);
    });
});

describe('ingest: large batches', () => {
    const got: Batch[] = [];
    let server: IngestServer;
    let addr = '';
    beforeAll(async () => {
        server = new IngestServer({ listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, maxBody: 8 * 1024 * 1024, logger: createLogger('silent'), onBatch: b => got.push(b) });
        addr = await server.listen();
    });
    afterAll(() => server.close());

    it('HTTP: 204 for a valid large batch, 400 for one with a bad event in its last slice', async () => {
        const ok = JSON.stringify(big('http-1'));
        expect((await fetch(`http://${addr}/`, { method: 'POST', body: ok, headers: postHeaders(TOKEN, ok) })).status).toBe(204);
        await waitFor(() => got.some(b => b.proc === 'http-1'), 5000, 'the batch');
        expect(got.find(b => b.proc === 'http-1')!.events).toHaveLength(N);
        const raw = big('http-2');
        (raw.events[N - 1] as { name: unknown }).name = 'Nope';
        const bad = JSON.stringify(raw);
        expect((await fetch(`http://${addr}/`, { method: 'POST', body: bad, headers: postHeaders(TOKEN, bad) })).status).toBe(400);
        expect(got.some(b => b.proc === 'http-2')).toBe(false);
    });

    it('stream: a large batch then small ones in the same write arrive in line order', async () => {
        const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        const closed = new Promise<void>(r => s.on('close', () => r()));
        const line = (seq: number, n: number) => signedLine(TOKEN, { ...big('st', seq, n), session: 's' }) as string;
        s.end(helloLine(TOKEN, 'st', 'alice') + line(1, N) + line(2, 1) + line(3, N) + line(4, 2));
        await closed;
        await waitFor(() => got.filter(b => b.proc === 'st').length === 4, 5000, 'four batches');
        expect(got.filter(b => b.proc === 'st').map(b => [b.seq, b.events.length])).toEqual([
            [1, N],
            [2, 1],
            [3, N],
            [4, 2]
        ]);
    });
});
