// Catch-up against a real memcached shared by TWO bridges: seq across instances, resume from a
// cursor (subscribe() reading the memcached journal, listen() through a bridge's replay
// endpoint), reset for a cursor past the journal, a 1,000-event burst, and coalescing timing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/client/listen.js';
import { subscribe } from '../../src/client/subscribe.js';
import { createMemcachedClient, type MemcachedClient } from '../../src/memcached/client.js';
import { entryKey, seqKey } from '../../src/publish/journal-memcached.js';
import { startBridge, Subscriber, type TestBridge } from '../helpers/bridge.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { freePort, REPLAY_TOKEN, waitFor } from '../helpers/net.js';
import { contiguous, flag, memcachedStats, take } from './util.js';
import { parseServers } from '../../src/memcached/servers.js';
import { busUrl } from '../../src/publish/bus-address.js';

describe('catch-up across two bridges sharing memcached', () => {
    let mc: TestMemcached;
    let a: TestBridge;
    let b: TestBridge;
    let replayUrl: string;
    let client: MemcachedClient;
    const counter = async (user: string) => Number((await client.get(seqKey(user))).value?.toString() ?? 0);

    beforeAll(async () => {
        mc = await startMemcached();
        client = createMemcachedClient(parseServers(mc.resolver));
        const replayPort = await freePort();
        replayUrl = `http://127.0.0.1:${replayPort}`;
        a = await startBridge({ resolver: mc.resolver });
        // B: replay endpoint for bus listeners, and a long coalescing window to make holding visible.
        b = await startBridge({ resolver: mc.resolver, replay: `127.0.0.1:${replayPort}`, coalesceWindow: 600, coalesceMaxHold: 1000 });
    });
    afterAll(async () => {
        await a?.stop();
        await b?.stop();
        client?.close();
        await mc?.stop();
    });

    /** Emits n flag events alternately through A and B. */
    const through = (user: string, prefix: string, n: number) => {
        const evs = Array.from({ length: n }, (_, i) => flag(user, `${prefix}${i}`, i + 1));
        evs.forEach((ev, i) => (i % 2 ? b : a).bridge.events.emit(ev));
        return evs.map(e => e.id);
    };

    it('subscribe(): a subscriber that was away resumes from its cursor with exactly the missed events, in seq order', async () => {
        const bind = `tcp://127.0.0.1:${await freePort()}`;
        const first = subscribe({ resolver: mc.resolver, user: 'alice', bind, ttlSec: 5 });
        await first.ready;
        const before = through('alice', 'x', 6);
        const seen = await take(first, 6);
        expect(seen.map(e => e.id).sort()).toEqual([...before].sort());
        expect(
            seen.map(e => e.seq),
            JSON.stringify(seen.map(e => [e.seq, e.id]))
        ).toEqual(Array.from({ length: 6 }, (_, i) => seen[0].seq! + i));
        const cursor = first.cursor!;
        expect(cursor).toBe(seen[5].seq);
        await first.close(); // unregisters: nothing is pushed to alice while she is away

        const missed = through('alice', 'm', 10);
        await waitFor(async () => (await counter('alice')) >= cursor + 10, 5000, 'missed events sequenced');

        const again = subscribe({ resolver: mc.resolver, user: 'alice', bind, ttlSec: 5, since: cursor });
        await again.ready;
        const replayed = await take(again, 10);
        expect(replayed.map(e => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => cursor + 1 + i));
        expect(replayed.map(e => e.id).sort()).toEqual([...missed].sort());
        // Live continues right after the replay, and nothing arrives twice.
        const live = through('alice', 'l', 4);
        const next = await take(again, 4);
        expect(next.map(e => e.seq)).toEqual([cursor + 11, cursor + 12, cursor + 13, cursor + 14]);
        expect(next.map(e => e.id).sort()).toEqual([...live].sort());
        expect(again.dropped).toBe(0);
        await again.close();
    });

    it('listen(): resumes from a cursor through a bridge replay endpoint, then follows both buses live', async () => {
        through('bob', 'p', 5);
        await waitFor(async () => (await counter('bob')) === 5, 5000, 'bob sequenced');
        const stream = listen({ connect: [busUrl(a.config), busUrl(b.config)], user: 'bob', since: 2, replay: replayUrl, replayToken: REPLAY_TOKEN, checkMs: 200, gapWaitMs: 300 });
        try {
            const replayed = await take(stream, 3);
            expect(replayed.map(e => e.seq)).toEqual([3, 4, 5]);
            // Live events (the SUB may still be joining: whatever PUB does not deliver comes from the journal).
            through('bob', 'q', 6);
            const live = await take(stream, 6);
            expect(live.map(e => e.seq)).toEqual([6, 7, 8, 9, 10, 11]);
            expect(new Set(live.map(e => e.id)).size).toBe(6);
        } finally {
            await stream.close();
        }
    });

    it('a cursor older than the journal gets a reset, never a silent gap', async () => {
        // Past the count bound: the reader refuses a range longer than journalMax.
        through('carol', 'c', 6);
        await waitFor(async () => (await counter('carol')) === 6, 5000, 'carol sequenced');
        const bind = `tcp://127.0.0.1:${await freePort()}`;
        const s = subscribe({ resolver: mc.resolver, user: 'carol', bind, ttlSec: 5, since: 1, journalMax: 3 });
        await s.ready;
        const [reset] = await take(s, 1);
        expect(reset).toMatchObject({ type: 'reset', user: 'carol', reason: 'cursor-too-old', seq: 6 });
        a.bridge.events.emit(flag('carol', 'after', 9));
        const [after] = await take(s, 1);
        expect(after).toMatchObject({ id: 'after', seq: 7 });
        await s.close();

        // Past retention: an entry that expired inside the range is a gap too.
        await client.delete(entryKey('carol', 3));
        const s2 = subscribe({ resolver: mc.resolver, user: 'carol', bind, ttlSec: 5, since: 1 });
        await s2.ready;
        const [reset2] = await take(s2, 1);
        expect(reset2).toMatchObject({ type: 'reset', reason: 'journal-gap', seq: 7 });
        await s2.close();
    });

    it('an entry expires with the retention time (memcached TTL)', async () => {
        // 2 s, not 1: memcached's clock ticks once a second, so a 1 s TTL can end a few ms after the
        // write (written just before a tick) and a poll on a loaded machine could miss the entry.
        const short = await startBridge({ resolver: mc.resolver, journalRetention: 2 });
        try {
            short.bridge.events.emit(flag('dora', 'd1', 1));
            await waitFor(async () => (await client.get(entryKey('dora', 1))).value, 5000, 'entry written');
            await waitFor(async () => !(await client.get(entryKey('dora', 1))).value, 5000, 'entry expired');
            const got = await a.bridge.events.replay('dora', 0);
            expect(got).toMatchObject([{ type: 'reset', reason: 'cursor-too-old', seq: 1 }]);
        } finally {
            await short.stop();
        }
    });

    it('1,000 flag changes in a burst all arrive, in order, once, in a few memcached round trips', async () => {
        const bind = `tcp://127.0.0.1:${await freePort()}`;
        const sub = new Subscriber(busUrl(a.config), ['erin\t', '__probe__\t']);
        await sub.ready(a.bridge);
        const s = subscribe({ resolver: mc.resolver, user: 'erin', bind, ttlSec: 5 });
        await s.ready;
        const statsBefore = await memcachedStats(mc.port);
        const t0 = performance.now();
        const ids = Array.from({ length: 1000 }, (_, i) => `burst${i}`);
        ids.forEach((id, i) => a.bridge.events.emit(flag('erin', id, i + 1)));
        const burst = await take(s, 1000);
        const ms = performance.now() - t0;
        const onBus = () => sub.events.filter(e => e.user === 'erin');
        await sub.waitFor(() => onBus().length >= 1000, 'bus burst');
        const statsAfter = await memcachedStats(mc.port);
        expect(burst.map(e => e.id)).toEqual(ids);
        expect(contiguous(burst)).toBe(true);
        expect(onBus().map(e => e.id)).toEqual(ids);
        expect(contiguous(onBus())).toBe(true);
        const incrs = statsAfter.incr_hits + statsAfter.incr_misses - statsBefore.incr_hits - statsBefore.incr_misses;
        console.log(`burst of 1000: all pushed in ${ms.toFixed(0)} ms with ${incrs} seq allocations`);
        expect(incrs).toBeLessThan(20);
        sub.close();
        await s.close();
    });

    it('coalescing never delays the first event after a quiet period; the burst behind it is held and flushed together', async () => {
        // Probes under another user, so fred is quiet when his first event comes.
        const sub = new Subscriber(busUrl(b.config), ['fred\t', '__probe__\t']);
        await sub.ready(b.bridge);
        const fred = () => sub.events.filter(e => e.user === 'fred');
        // The window's timing is test/publish/coalesce.test.ts's (fake timers); here, through a real
        // bridge, the first event arrives on its own and the burst behind it follows, in order.
        b.bridge.events.emit(flag('fred', 'first', 1));
        await sub.waitFor(() => fred().length === 1, 'first event');
        b.bridge.events.emit(flag('fred', 'second', 2));
        b.bridge.events.emit(flag('fred', 'third', 3));
        await sub.waitFor(() => fred().length === 3, 'burst');
        expect(fred().map(e => e.id)).toEqual(['first', 'second', 'third']);
        expect(contiguous(fred())).toBe(true);
        sub.close();
    });
});
