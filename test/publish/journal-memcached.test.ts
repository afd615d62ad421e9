// The memcached journal's reads against a real memcached, where a batch is published once its
// write is sent (sequencer.ts): a tail still being written is read again soon, not after the
// whole op timeout; a hole with entries after it is a gap at once; a tail that never lands is a
// gap once the op timeout has passed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemcachedClient } from '../../src/memcached/client.js';
import { parseServers } from '../../src/memcached/servers.js';
import { MemcachedJournal } from '../../src/publish/journal-memcached.js';
import { memcachedStats } from '../catchup/util.js';
import { events } from './journal-fixture.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';

describe('MemcachedJournal reads', () => {
    let mc: TestMemcached;
    const journals: MemcachedJournal[] = [];
    const journal = (timeoutMs: number): MemcachedJournal => {
        const j = new MemcachedJournal(createMemcachedClient(parseServers(mc.resolver), { timeoutMs: 1000 }), { timeoutMs });
        journals.push(j);
        return j;
    };
    beforeAll(async () => {
        mc = await startMemcached();
    });
    afterAll(async () => {
        await Promise.all(journals.map(j => j.close()));
        await mc?.stop();
    });

    it('a tail still being written is read once it lands, long before the op timeout', async () => {
        // An op timeout of 10 minutes: a read that waited for it would outlast the test's timeout.
        const j = journal(600_000);
        expect(await j.allocate('tina', 3)).toBe(1);
        await j.append(events('tina', 1, 1));
        const gets = (await memcachedStats(mc.port)).cmd_get;
        const read = j.read('tina', 0);
        // The read has fetched (and found 2 and 3 missing) before they are written.
        for (let s = gets; s <= gets; s = (await memcachedStats(mc.port)).cmd_get) await new Promise(r => setImmediate(r));
        await j.append(events('tina', 2, 2));
        const r = await read;
        expect(r.gap).toBeUndefined();
        expect(r.events.map(e => e.seq)).toEqual([1, 2, 3]);
    });

    it('a hole with entries after it is a gap at once', async () => {
        const j = journal(600_000);
        expect(await j.allocate('hugo', 3)).toBe(1);
        await j.append([...events('hugo', 1, 1), ...events('hugo', 3, 1)]);
        expect(await j.read('hugo', 0)).toEqual({ current: 3, events: [], gap: 'journal-gap' });
    });

    it('a tail that never lands is a gap once the op timeout has passed', async () => {
        const j = journal(100);
        expect(await j.allocate('ines', 2)).toBe(1);
        await j.append(events('ines', 1, 1));
        expect(await j.read('ines', 0)).toEqual({ current: 2, events: [], gap: 'journal-gap' });
    });
});
