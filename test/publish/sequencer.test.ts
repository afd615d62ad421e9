// The sequencer against the embedded store (SQLite in memory) and a failing fake, with fake
// timers for the retry logic: per-user contiguous seqs, journaled before handed on (or, with a
// store whose reads wait for the tail, once the write is sent), a reset after an outage or a
// counter that went back, and long batches handed on in slices.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import type { JournalStore, ReadResult } from '../../src/publish/journal.js';
import { SqliteJournal } from '../../src/publish/journal-sqlite.js';
import { Sequencer } from '../../src/publish/sequencer.js';

const ev = (id: string, user = 'u'): VmEvent => makeEvent({ id, type: 'delete', user, mailbox: 'INBOX', uid: 1 });

/** A store whose allocate can be made to fail or to go back (memcached restarted). */
class FakeStore implements JournalStore {
    counters = new Map<string, number>();
    appended: VmEvent[] = [];
    failing = false;
    async allocate(user: string, n: number): Promise<number> {
        if (this.failing) throw new Error('down');
        const c = this.counters.get(user) ?? 0;
        this.counters.set(user, c + n);
        return c + 1;
    }
    async append(events: VmEvent[]): Promise<void> {
        this.appended.push(...events);
    }
    async read(): Promise<ReadResult> {
        return { current: 0, events: [] };
    }
    async close(): Promise<void> {}
}

afterEach(() => vi.useRealTimers());

describe('Sequencer', () => {
    it('gives each user contiguous seqs in order, journaled before they are handed on', async () => {
        const store = new SqliteJournal(':memory:');
        const seen: VmEvent[] = [];
        const journaledWhenSeen: boolean[] = [];
        const seq = new Sequencer(store, {
            emit: e => {
                seen.push(e);
                void store.read(e.user, e.seq! - 1).then(r => journaledWhenSeen.push(r.events[0]?.id === e.id));
            }
        });
        seq.push('a', [ev('a1', 'a'), ev('a2', 'a')]);
        seq.push('b', [ev('b1', 'b')]);
        seq.push('a', [ev('a3', 'a')]);
        await seq.idle();
        const a = seen.filter(e => e.user === 'a');
        expect(a.map(e => e.id)).toEqual(['a1', 'a2', 'a3']);
        expect(a.map(e => e.seq! - a[0].seq!)).toEqual([0, 1, 2]);
        await vi.waitFor(() => expect(journaledWhenSeen).toHaveLength(4));
        expect(journaledWhenSeen.every(Boolean)).toBe(true);
        await store.close();
    });

    it('tells the sinks after the allocation, once the journal write is under way (prepare), not when the allocation failed', async () => {
        const store = new FakeStore();
        const log: string[] = [];
        const allocate = store.allocate.bind(store);
        const append = store.append.bind(store);
        store.allocate = async (user, n) => (log.push(`allocate ${user}`), allocate(user, n));
        store.append = async evs => (log.push(`append ${evs.map(e => e.id)}`), append(evs));
        const seq = new Sequencer(store, { emit: e => log.push(`emit ${e.id}`), prepare: user => log.push(`prepare ${user}`) });
        seq.push('a', [ev('a1', 'a'), ev('a2', 'a')]);
        await seq.idle();
        expect(log).toEqual(['allocate a', 'append a1,a2', 'prepare a', 'emit a1', 'emit a2']);
        log.length = 0;
        store.failing = true;
        seq.push('a', [ev('a3', 'a')]);
        await seq.idle();
        expect(log).toEqual(['allocate a', 'emit a3']);
    });

    it("with a store whose reads wait for the tail, hands a batch on once its write is sent; the user's next allocation waits for that write", async () => {
        const store = Object.assign(new FakeStore(), { readWaitsForTail: true });
        const log: string[] = [];
        const writes = new Map<string, () => void>(); // by the batch's first event id
        const allocate = store.allocate.bind(store);
        store.allocate = async (user, n) => (log.push(`allocate ${user}`), allocate(user, n));
        store.append = evs => (log.push(`append ${evs.map(e => e.id)}`), new Promise<void>(resolve => writes.set(evs[0].id, resolve)));
        const seq = new Sequencer(store, { emit: e => log.push(`emit ${e.id} ${e.seq}`) });
        const of = (user: string) => log.filter(l => l.split(' ')[1].startsWith(user));
        seq.push('a', [ev('a1', 'a')]);
        seq.push('b', [ev('b1', 'b')]);
        await vi.waitFor(() => expect(log).toContain('emit a1 1'));
        await vi.waitFor(() => expect(log).toContain('emit b1 1')); // both out, neither write stored
        seq.push('a', [ev('a2', 'a')]);
        await new Promise(r => setImmediate(r));
        expect(of('a')).toEqual(['allocate a', 'append a1', 'emit a1 1']); // a2 waits for a1's write
        writes.get('a1')!();
        await vi.waitFor(() => expect(log).toContain('emit a2 2'));
        expect(of('a')).toEqual(['allocate a', 'append a1', 'emit a1 1', 'allocate a', 'append a2', 'emit a2 2']);
        for (const w of writes.values()) w();
        await seq.idle();
    });

    it('with prepareOnSend, tells the sinks as soon as the allocation is sent, once, before it is answered', async () => {
        const store = new FakeStore();
        const log: string[] = [];
        let answer: (() => void) | undefined;
        const allocate = store.allocate.bind(store);
        store.allocate = (user, n) => (log.push(`allocate ${user}`), new Promise<number>(resolve => (answer = () => resolve(allocate(user, n)))));
        const seq = new Sequencer(store, { emit: e => log.push(`emit ${e.id}`), prepare: user => log.push(`prepare ${user}`) });
        seq.prepareOnSend = true;
        seq.push('a', [ev('a1', 'a')]);
        await vi.waitFor(() => expect(answer).toBeDefined());
        expect(log).toEqual(['allocate a', 'prepare a']);
        answer!();
        await seq.idle();
        expect(log).toEqual(['allocate a', 'prepare a', 'emit a1']);
    });

    it("takes a user's events pushed one by one in the same turn in one allocation and one journal write", async () => {
        const store = new FakeStore();
        const log: string[] = [];
        const allocate = store.allocate.bind(store);
        const append = store.append.bind(store);
        store.allocate = async (user, n) => (log.push(`allocate ${user} ${n}`), allocate(user, n));
        store.append = async evs => (log.push(`append ${evs.map(e => e.id)}`), append(evs));
        const seq = new Sequencer(store, { emit: e => log.push(`emit ${e.id} ${e.seq}`) });
        for (const id of ['a1', 'a2', 'a3', 'a4']) seq.push('a', [ev(id, 'a')]); // a hook batch's new messages, as correlate hands them on
        await seq.idle();
        expect(log).toEqual(['allocate a 4', 'append a1,a2,a3,a4', 'emit a1 1', 'emit a2 2', 'emit a3 3', 'emit a4 4']);
    });

    it('publishes without seq while the store is down, then sequences again behind a reset', async () => {
        vi.useFakeTimers();
        const store = new FakeStore();
        const seen: VmEvent[] = [];
        const seq = new Sequencer(store, { emit: e => seen.push(e) }, { retryMs: 1000 });
        store.failing = true;
        seq.push('u', [ev('1')]);
        await seq.idle();
        store.failing = false;
        seq.push('u', [ev('2')]); // still inside retryMs: not even asked
        await seq.idle();
        expect(seen.map(e => [e.id, e.seq])).toEqual([
            ['1', undefined],
            ['2', undefined]
        ]);
        vi.advanceTimersByTime(1000);
        seq.push('u', [ev('3')]);
        await seq.idle();
        expect(seen.slice(2).map(e => [e.type, e.seq, e.type === 'reset' ? e.reason : undefined])).toEqual([
            ['reset', 1, 'sequence-unavailable'],
            ['delete', 2, undefined]
        ]);
        expect(store.appended.map(e => e.seq)).toEqual([1, 2]); // the reset is journaled too
    });

    it('jumps past seqs it gave out when the counter went back, behind a reset', async () => {
        const store = new FakeStore();
        const seen: VmEvent[] = [];
        const seq = new Sequencer(store, { emit: e => seen.push(e) });
        seq.push('u', [ev('1'), ev('2'), ev('3')]);
        await seq.idle();
        store.counters.clear(); // memcached restarted
        seq.push('u', [ev('4')]);
        await seq.idle();
        expect(seen.map(e => e.seq)).toEqual([1, 2, 3, 5, 6]); // 4 went to the allocation that found the counter back at 1
        expect(seen[3]).toMatchObject({ type: 'reset', reason: 'sequence-restarted' });
    });

    it('hands a long batch on in slices, letting the event loop run between them', async () => {
        const store = new SqliteJournal(':memory:');
        let seen = 0;
        const atTick: number[] = [];
        const seq = new Sequencer(store, { emit: () => void seen++ });
        seq.push(
            'big',
            Array.from({ length: 5000 }, (_, i) => ev(`e${i}`, 'big'))
        );
        const tick = (): void => {
            atTick.push(seen);
            if (seen < 5000) setImmediate(tick);
        };
        setImmediate(tick);
        await seq.idle();
        expect(seen).toBe(5000);
        // Other work ran while the batch was in progress (between journal and emit slices).
        expect(atTick.some(n => n > 0 && n < 5000)).toBe(true);
        await store.close();
    });
});
