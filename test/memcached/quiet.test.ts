// setMany (src/memcached/quiet-set.ts) against real memcached servers: quiet SETQs plus one NOOP
// per server store every entry with its TTL, on the server libmemcached's placement picks; an
// entry memcached refuses is counted, the others are stored; the journal appends through it.
import memjs from 'memjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { createMemcachedClient, type MemcachedClient } from '../../src/memcached/client.js';
import { getMany, setMany } from '../../src/memcached/quiet.js';
import { parseServers } from '../../src/memcached/servers.js';
import { MemcachedJournal } from '../../src/publish/journal-memcached.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';

describe('setMany: quiet SETs, one answer per server', () => {
    let a: TestMemcached;
    let b: TestMemcached;
    let both: MemcachedClient;
    const direct: memjs.Client[] = [];
    beforeAll(async () => {
        [a, b] = await Promise.all([startMemcached(), startMemcached()]);
        both = createMemcachedClient(parseServers(`--SERVER=${a.server} --SERVER=${b.server}`), { timeoutMs: 2000 });
        for (const m of [a, b]) direct.push(memjs.Client.create(m.server, { logger: { log: () => undefined } }));
    });
    afterAll(async () => {
        both?.close();
        direct.forEach(c => c.close());
        await Promise.all([a?.stop(), b?.stop()]);
    });

    it('stores 2,000 entries over two servers, each where the placement puts it, with the TTL', async () => {
        const entries = Array.from({ length: 2000 }, (_, i) => ({ key: `qs:${i}`, value: `{"n":${i},"s":"é${'x'.repeat(i % 500)}"}` }));
        expect(await setMany(both, entries, 3600)).toBe(0);
        const placed = [0, 0];
        for (const e of entries) {
            expect((await both.get(e.key)).value?.toString('utf8')).toBe(e.value);
            const onA = (await direct[0].get(e.key)).value !== null;
            placed[onA ? 0 : 1]++;
        }
        expect(placed[0]).toBeGreaterThan(0); // both servers got some: one write each
        expect(placed[1]).toBeGreaterThan(0);
    });

    it('counts an entry memcached refuses (too large) and stores the rest', async () => {
        const big = 'x'.repeat(2 * 1024 * 1024); // over memcached's 1 MB item limit
        const entries = [
            { key: 'qs:ok1', value: 'one' },
            { key: 'qs:big', value: big },
            { key: 'qs:ok2', value: 'two' }
        ];
        expect(await setMany(both, entries, 3600)).toBe(1);
        expect((await both.get('qs:ok1')).value?.toString()).toBe('one');
        expect((await both.get('qs:ok2')).value?.toString()).toBe('two');
        expect((await both.get('qs:big')).value).toBeNull();
    });

    it('an expired TTL leaves nothing behind', async () => {
        // memcached's clock has a 1 s resolution; an absolute time in the past expires at once.
        expect(await setMany(both, [{ key: 'qs:gone', value: 'v' }], Math.floor(Date.now() / 1000) - 10)).toBe(0);
        expect((await both.get('qs:gone')).value).toBeNull();
    });

    it('the memcached journal appends a batch through it and reads it back in order', async () => {
        const j = new MemcachedJournal(both, { timeoutMs: 2000 });
        const first = await j.allocate('quiet', 500);
        const evs = Array.from({ length: 500 }, (_, i): VmEvent => makeEvent({ id: `q${i}`, type: 'delete', user: 'quiet', mailbox: 'INBOX', uid: i + 1, seq: first + i }));
        await j.append(evs);
        const r = await j.read('quiet', first - 1);
        expect(r.gap).toBeUndefined();
        expect(r.events.map(e => e.id)).toEqual(evs.map(e => e.id));
    });
});

describe('getMany: quiet GETs, answers only for hits', () => {
    let a: TestMemcached;
    let b: TestMemcached;
    let both: MemcachedClient;
    beforeAll(async () => {
        [a, b] = await Promise.all([startMemcached(), startMemcached()]);
        both = createMemcachedClient(parseServers(`--SERVER=${a.server} --SERVER=${b.server}`), { timeoutMs: 2000 });
    });
    afterAll(async () => {
        both?.close();
        await Promise.all([a?.stop(), b?.stop()]);
    });

    it('returns the keys that exist over two servers (UTF-8 keys too), nothing for the others', async () => {
        const present = Array.from({ length: 300 }, (_, i) => ({ key: `gm:${i}:jürgen`, value: `v${i}` }));
        expect(await setMany(both, present, 3600)).toBe(0);
        const asked = [...present.map(e => e.key), ...Array.from({ length: 300 }, (_, i) => `gm:missing:${i}`)];
        const { values, failed } = await getMany(both, asked);
        expect(failed).toBe(0);
        expect(values.size).toBe(300);
        for (const e of present) expect(values.get(e.key)?.toString()).toBe(e.value);
    });

    it('answers an all-missing lookup with an empty map (the NOOP ends it)', async () => {
        const { values, failed } = await getMany(both, ['gm:none:1', 'gm:none:2']);
        expect([values.size, failed]).toEqual([0, 0]);
    });

    it('rejects when the server is gone', async () => {
        const solo = await startMemcached();
        const client = createMemcachedClient(parseServers(solo.resolver), { timeoutMs: 1000 });
        try {
            await getMany(client, ['x']);
            await solo.stop();
            await expect(getMany(client, ['x'])).rejects.toThrow();
        } finally {
            client.close();
            await solo.stop();
        }
    });
});
