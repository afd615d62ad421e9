// Per-message state stays bounded (issue 22.4, bench/memory.mjs): counts, not timings. One hook
// stream per Lua state (one per LMTP recipient) must not leave its last seq behind once it closes;
// copies remembered for a late MessageNew stay under JOIN_DONE_MAX.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Correlator } from '../../src/events/correlate.js';
import type { DeliveryRecord } from '../../src/events/delivery.js';
import type { Classification } from '../../src/classify/classify.js';
import { MemoryIndex } from '../../src/events/index-store.js';
import { IngestServer } from '../../src/hook/ingest.js';
import { JOIN_DONE_MAX } from '../../src/limits.js';
import { createLogger } from '../../src/log.js';
import { hookGaps } from '../../src/metrics.js';
import { helloLine, nowTs, signedLine } from '../helpers/hook-sign.js';
import { waitFor } from '../helpers/net.js';

const TOKEN = 'memory-bounds-token-0123456789abcdef';
const STATES = 300;
const gaps = async () => (await hookGaps.get()).values.find(v => v.labels.kind === 'batch')?.value ?? 0;

describe('hook streams: a Lua state is forgotten when its connection closes', () => {
    let server: IngestServer;
    let correlator: Correlator;
    let batches = 0;
    let hellos = 0;
    let port = 0;

    beforeAll(async () => {
        correlator = new Correlator({ out: { emit: () => undefined }, index: new MemoryIndex(), logger: createLogger('silent'), hook: 'yes' });
        server = new IngestServer({
            listen: { host: '127.0.0.1', port: 0 },
            token: TOKEN,
            maxBody: 1024 * 1024,
            logger: createLogger('silent'),
            onBatch: b => {
                batches++;
                correlator.onBatch(b);
            },
            onStreamEnd: proc => correlator.procEnded(proc)
        });
        const addr = await server.listen();
        port = Number(addr.slice(addr.lastIndexOf(':') + 1));
    });
    afterAll(async () => {
        await server.close();
        await correlator.close();
    });

    /** One Lua state as an LMTP recipient has it: connect, hello, its batches, close. */
    const state = async (proc: string, seqs: number[]) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        const closed = new Promise<void>(r => s.on('close', () => r()));
        const lines = seqs.map(seq =>
            signedLine(TOKEN, {
                proc,
                seq,
                ts: nowTs(),
                user: 'alice',
                session: proc,
                events: [{ name: 'FlagsSet', mailbox: 'INBOX', uid: seq, uid_validity: 7, flags: ['\\Seen'] }]
            })
        );
        // a hello differs from the state's earlier one (the hook's clock moved on): the same bytes would be a replay
        s.end(helloLine(TOKEN, proc, 'alice', nowTs() + ++hellos / 1e6) + lines.join(''));
        await closed;
    };

    it(`${STATES} states, one stream each: none left tracked, and no gap reported`, async () => {
        const gaps0 = await gaps();
        for (let i = 0; i < STATES; i++) await state(`lmtp-${i}`, [1, 2]);
        await waitFor(() => batches === 2 * STATES, 5000, 'every batch');
        await waitFor(() => correlator.procsTracked === 0, 5000, 'every state forgotten');
        expect(await gaps()).toBe(gaps0);
    });

    it('a state that reconnects after the hook dropped a batch still shows the gap', async () => {
        const gaps0 = await gaps();
        await state('imap-1', [1, 2]);
        await state('imap-1', [4]); // seq 3 was dropped by the hook (timeout), then it reconnected
        await waitFor(async () => (await gaps()) === gaps0 + 1, 5000, 'the gap');
    });
});

describe('delivery join: remembered copies stay under JOIN_DONE_MAX', () => {
    it(`${2 * JOIN_DONE_MAX} deliveries without the hook: at most ${JOIN_DONE_MAX} remembered`, async () => {
        let emitted = 0;
        const c = new Correlator({ out: { emit: () => emitted++ }, index: new MemoryIndex(), logger: createLogger('silent'), hook: 'auto' });
        const classification: Classification = { class: 'email', messageId: '<m@x>' };
        let max = 0;
        for (let i = 0; i < 2 * JOIN_DONE_MAX; i++) {
            const rec: DeliveryRecord = {
                sessionId: `s${i}`,
                rcptIndex: 0,
                rcpt: `u${i % 50}`,
                user: `u${i % 50}`,
                from: 'x',
                classification: { ...classification, messageId: `<m${i}@x>` },
                size: 1
            };
            c.expect(rec);
            c.stored(rec);
            if (i % 250 === 0) {
                await new Promise(r => setImmediate(r)); // the newmail of what was stored so far goes out
                max = Math.max(max, c.copiesRemembered);
            }
        }
        await waitFor(() => emitted === 2 * JOIN_DONE_MAX, 5000, 'every newmail');
        max = Math.max(max, c.copiesRemembered);
        expect(max).toBeGreaterThan(JOIN_DONE_MAX / 2); // they are remembered (--hook auto, not heard) …
        expect(max).toBeLessThanOrEqual(JOIN_DONE_MAX); // … within the bound
        await c.close();
    });
});
