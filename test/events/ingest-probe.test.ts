// The doctor's probe batch (hook/probe.ts): answered 204 like any signed batch, counted as
// result="probe", and nothing else — not handed on, not "hook heard" (which would make
// deliveries wait for Dovecot's uid under --hook auto). A real batch still does both.
import { describe, expect, it } from 'vitest';
import { IngestServer } from '../../src/hook/ingest.js';
import { PROBE_USER } from '../../src/hook/probe.js';
import { createLogger } from '../../src/log.js';
import { ingestBatches } from '../../src/metrics.js';
import { postHeaders } from '../helpers/hook-sign.js';

const TOKEN = 'probe-test-token-0123456789abcdef';

describe('ingest: the doctor probe', () => {
    it('answers 204 and counts it, without onBatch or onHello; a real batch gets both', async () => {
        const batches: string[] = [];
        let hellos = 0;
        const ingest = new IngestServer({
            listen: { host: '127.0.0.1', port: 0 },
            token: TOKEN,
            maxBody: 1 << 20,
            logger: createLogger('silent'),
            onBatch: b => batches.push(b.user),
            onHello: () => hellos++
        });
        const addr = await ingest.listen();
        const post = async (user: string, seq: number) => {
            const body = JSON.stringify({ proc: 'p-probe-test', seq, ts: Date.now() / 1000, user, session: '', events: [] });
            return (await fetch(`http://${addr}/events`, { method: 'POST', headers: postHeaders(TOKEN, body), body })).status;
        };
        const probes = async () => (await ingestBatches.get()).values.find(v => v.labels.result === 'probe')?.value ?? 0;
        try {
            const before = await probes();
            expect(await post(PROBE_USER, 1)).toBe(204);
            expect(await probes()).toBe(before + 1);
            await new Promise(r => setImmediate(r));
            expect(batches).toEqual([]);
            expect(hellos).toBe(0);
            expect(await post('alice@example.org', 2)).toBe(204);
            await new Promise(r => setImmediate(r));
            expect(batches).toEqual(['alice@example.org']);
            expect(hellos).toBe(1);
        } finally {
            await ingest.close();
        }
    });
});
