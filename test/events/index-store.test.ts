// The uid index in memcached (shared by bridge instances) and in memory (bounded).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemcachedIndex, MemoryIndex } from '../../src/events/index-store.js';
import { createLogger } from '../../src/log.js';
import { parseServers } from '../../src/memcached/servers.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';

const ref = (uid: number, user = 'alice@example.org') => ({ user, mailbox: 'INBOX', uidValidity: 1700000000, uid });
const entry = { messageId: '<m@x>', class: 'voicemail' as const, voicemail: { mailbox: '1000', context: 'default' } };

describe('uid index', () => {
    let memcached: TestMemcached;
    beforeAll(async () => {
        memcached = await startMemcached();
    });
    afterAll(async () => {
        await memcached?.stop();
    });

    it('is shared through memcached between two instances, with odd user names kept apart', async () => {
        const log = createLogger('silent');
        const a = new MemcachedIndex(parseServers(memcached.resolver), log);
        const b = new MemcachedIndex(parseServers(memcached.resolver), log);
        await a.set(ref(7), entry);
        expect(await b.get(ref(7))).toEqual(entry);
        await a.set(ref(7, 'bob smith\r\n@x'), { messageId: '<other@x>' });
        expect(await b.get(ref(7))).toEqual(entry);
        expect(await b.get(ref(7, 'bob smith\r\n@x'))).toEqual({ messageId: '<other@x>' });
        await b.delete(ref(7));
        expect(await b.get(ref(7))).toBeUndefined();
        const c = new MemcachedIndex(parseServers(memcached.resolver), log);
        expect(await c.get(ref(7))).toBeUndefined(); // gone from memcached
        await Promise.all([a.close(), b.close(), c.close()]);
    });

    // A uid names one message for good (within its uidValidity), so an entry never changes: what an
    // instance wrote or read is answered from its local copy, without a round trip (event latency).
    it('answers entries it wrote or read from its local copy, without asking memcached', async () => {
        const log = createLogger('silent');
        const [a, b, c] = [1, 2, 3].map(() => new MemcachedIndex(parseServers(memcached.resolver), log));
        await a.set(ref(8), entry);
        expect(await b.get(ref(8))).toEqual(entry); // read through memcached, kept
        expect(await b.get(ref(9))).toBeUndefined(); // a miss is not kept: another instance may write it
        await a.set(ref(9), entry);
        expect(await b.get(ref(9))).toEqual(entry);
        await c.delete(ref(8)); // gone from memcached: a and b no longer ask it
        expect(await a.get(ref(8))).toEqual(entry);
        expect(await b.get(ref(8))).toEqual(entry);
        await Promise.all([a.close(), b.close(), c.close()]);
    });

    it('answers undefined, quickly, when memcached is down', async () => {
        const idx = new MemcachedIndex(parseServers('--SERVER=127.0.0.1:1'), createLogger('silent'));
        expect(await idx.get(ref(1))).toBeUndefined();
        await idx.set(ref(1), entry);
        await idx.close();
    });

    it('keeps at most its bound in memory, dropping the least recently used', async () => {
        const idx = new MemoryIndex(2);
        await idx.set(ref(1), entry);
        await idx.set(ref(2), entry);
        await idx.get(ref(1));
        await idx.set(ref(3), entry);
        expect(await idx.get(ref(2))).toBeUndefined();
        expect(await idx.get(ref(1))).toEqual(entry);
        expect(await idx.get(ref(3))).toEqual(entry);
    });
});
