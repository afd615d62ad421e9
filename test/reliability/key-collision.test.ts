// Key collisions (issue: a user name that needs sanitising mapped onto another user's clean key,
// and one user's journal was overwritten by another's events). A sanitised key never equals a
// clean one, and journal reads check the event's user — against a real memcached.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { MemcachedIndex } from '../../src/events/index-store.js';
import { entryKey, MemcachedJournal, seqKey } from '../../src/publish/journal-memcached.js';
import { createMemcachedClient, type MemcachedClient } from '../../src/memcached/client.js';
import { resolverKey, sanitizeKey } from '../../src/resolve/key.js';
import { encodeEvent } from '../../src/wire/json.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { parseServers } from '../../src/memcached/servers.js';

const DIRTY = 'a b@x';

/** The clean name that used to share the dirty one's keys: its sanitised form, taken as a name. */
function lookalike(prefix: string): string {
    return sanitizeKey(`${prefix}${DIRTY}`).slice(prefix.length);
}

async function write(j: MemcachedJournal, user: string, ids: string[]): Promise<void> {
    const first = await j.allocate(user, ids.length);
    await j.append(ids.map((id, i): VmEvent => makeEvent({ id, type: 'delete', user, mailbox: 'INBOX', uid: i + 1, seq: first + i })));
}

describe('key collisions', () => {
    let mc: TestMemcached;
    let client: MemcachedClient;
    beforeAll(async () => {
        mc = await startMemcached();
        client = createMemcachedClient(parseServers(mc.resolver), { timeoutMs: 1000 });
    });
    afterAll(async () => {
        client?.close();
        await mc?.stop();
    });

    it('a sanitised key never equals the key of a clean name that looks like it', () => {
        for (const prefix of ['vmbridge:j:', 'vmbridge:seq:', 'resolver:']) {
            const twin = lookalike(prefix);
            expect(sanitizeKey(prefix + twin)).not.toBe(sanitizeKey(prefix + DIRTY));
        }
        expect(seqKey(lookalike('vmbridge:seq:'))).not.toBe(seqKey(DIRTY));
        expect(entryKey(lookalike('vmbridge:j:'), 1)).not.toBe(entryKey(DIRTY, 1));
        expect(resolverKey('alice', 'username')).toBe('resolver:alice'); // clean keys stay OpenChange's
    });

    it('two such users keep separate journals in memcached', async () => {
        const j = new MemcachedJournal(client, { timeoutMs: 1000 });
        const twin = lookalike('vmbridge:j:');
        await write(j, DIRTY, ['d1', 'd2']);
        await write(j, twin, ['t1', 't2', 't3']);
        expect((await j.read(DIRTY, 0)).events.map(e => e.id)).toEqual(['d1', 'd2']);
        expect((await j.read(twin, 0)).events.map(e => e.id)).toEqual(['t1', 't2', 't3']);
    });

    it("an entry holding another user's event is never handed out: the read reports a gap", async () => {
        const j = new MemcachedJournal(client, { timeoutMs: 1000 });
        await write(j, 'erin', ['e1', 'e2']);
        const forged = makeEvent({ id: 'forged', type: 'delete', user: 'mallory', mailbox: 'INBOX', uid: 9, seq: 2 });
        await client.set(entryKey('erin', 2), encodeEvent(forged), { expires: 60 });
        const r = await j.read('erin', 0);
        expect(r.events.map(e => e.id)).not.toContain('forged');
        expect(r.gap).toBeDefined();
    });

    it('uid index entries of refs whose parts join alike stay apart (memcached)', async () => {
        const log = { debug: () => undefined } as never;
        const index = new MemcachedIndex(parseServers(mc.resolver), log, 60, 1000);
        const reader = new MemcachedIndex(parseServers(mc.resolver), log, 60, 1000); // reads memcached, not the writer's local copy
        try {
            const a = { user: 'a:1', uidValidity: 2, uid: 3, mailbox: 'M' };
            const b = { user: 'a', uidValidity: 1, uid: 2, mailbox: '3:M' };
            await index.set(a, { messageId: '<a@x>' });
            await index.set(b, { messageId: '<b@x>' });
            expect(await reader.get(a)).toEqual({ messageId: '<a@x>' });
            expect(await reader.get(b)).toEqual({ messageId: '<b@x>' });
        } finally {
            await index.close();
            await reader.close();
        }
    });
});
