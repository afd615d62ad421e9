// Overload: a subscribe() subscriber that cannot keep up with a flood loses the OLDEST events and
// is told so (a reset it can see), keeps the newest, and never silently loses almost everything.
// A bridge with a memcached resolver pushes to it over real nanomsg; the journal is in memcached.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribe } from '../../src/client/subscribe.js';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { freePort } from '../helpers/net.js';

const USER = 'flood@example.org';
const N = 20_000;
const LIMIT = 2000;

describe('subscribers under overload', () => {
    let mc: TestMemcached;
    let br: TestBridge;
    beforeAll(async () => {
        mc = await startMemcached();
        br = await startBridge({ resolver: mc.resolver, journalMax: 50_000 });
    });
    afterAll(async () => {
        await br?.stop();
        await mc?.stop();
    });

    it(`a consumer that reads nothing while ${N} events arrive gets a reset and then the newest ones`, async () => {
        const ac = new AbortController();
        const stream = subscribe({
            resolver: mc.resolver,
            user: USER,
            bind: `tcp://127.0.0.1:${await freePort()}`,
            limit: LIMIT,
            journalMax: 50_000,
            gapWaitMs: 200,
            checkMs: 0,
            signal: ac.signal
        });
        try {
            await stream.ready;
            // Registered in memcached: the bridge resolves the endpoint for the first burst.
            for (let i = 0; i < N; i += 1000) {
                for (let k = i; k < i + 1000; k++) br.bridge.events.emit(makeEvent({ id: `f${k}`, type: 'delete', user: USER, mailbox: 'INBOX', uid: k + 1 }));
                await new Promise(r => setImmediate(r));
            }
            // The consumer only now starts reading; the stream held at most LIMIT for it.
            const got: VmEvent[] = [];
            const it = stream[Symbol.asyncIterator]();
            const deadline = setTimeout(() => ac.abort(), 30_000);
            for (let r = await it.next(); !r.done; r = await it.next()) {
                got.push(r.value);
                if (r.value.id === `f${N - 1}`) break;
            }
            clearTimeout(deadline);
            const resets = got.filter(e => e.type === 'reset');
            const kept = got.filter(e => e.type !== 'reset');
            expect(stream.dropped).toBeGreaterThan(0);
            expect(resets.length).toBeGreaterThan(0); // the loss is visible
            expect(kept.length).toBeGreaterThanOrEqual(LIMIT / 2); // not "almost all" lost
            // After the last reset the events run contiguously up to the newest one.
            const after = got.slice(got.lastIndexOf(resets.at(-1)!) + 1);
            expect(after.map(e => e.seq)).toEqual(after.map((_, i) => after[0].seq! + i));
            expect(after.at(-1)!.id).toBe(`f${N - 1}`);
        } finally {
            ac.abort();
            await stream.close();
        }
    }, 60_000);
});
