// Stamps `seq` on every event, journals it, then hands it on — per user in order. Each user has a
// queue: the first allocation waits for the rest of the turn (a hook batch's events arrive one by
// one within it), and while one allocation runs, later batches wait and the next allocation serves
// them all (INCR by n), so memcached costs two round trips per burst, not per event, and the
// embedded journal one commit (bench/ingest-cpu.mjs: a batch of four new messages took two). An
// event is handed on only after its journal write settled, so whatever a subscriber sees live is
// already replayable — except with a store whose reads wait for a missing tail (memcached): there
// a batch goes out once its write is sent, and the user's next allocation waits for that write, so
// a replay can only find the newest batch missing, which it waits for.
//
// memcached down: delivery never waits on it. After a failed allocation (bounded by the op
// timeout) events go out without seq for `retryMs` (no waiting at all meanwhile); a local
// counter would collide with other instances' numbers, which subscribers would drop as
// duplicates. Those events are not journaled, so the user's first sequenced event afterwards is
// preceded by a journaled `reset` (reason sequence-unavailable): a subscriber replaying across
// the outage learns it must resync instead of silently missing them. A counter memcached lost
// (restart, eviction) is noticed for users this instance numbered recently: it jumps past the
// old numbers behind a `reset` (sequence-restarted); clients also treat an unseen seq 1 so.
import type { VmEvent } from '../events/event.js';
import type { EventSink } from '../events/sink.js';
import type { Logger } from '../log.js';
import { journalErrors } from '../metrics.js';
import { resetEvent, type JournalStore, type ResetReason } from './journal.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { SEQUENCER_USERS_LIMIT, SEQUENCER_LOG_INTERVAL_MS, SEQUENCER_EMIT_SLICE, SEQUENCER_RETRY_MS } from '../limits.js';

export interface SequencerOptions {
    /** How long to publish without seq after the store failed (default 1 s). */
    retryMs?: number;
    logger?: Logger;
}

export class Sequencer {
    private readonly queues = new Map<string, VmEvent[]>();
    private readonly running = new Set<Promise<void>>();
    /** Users with unsequenced (unjournaled) events since their last sequenced one. */
    private readonly degraded = new Set<string>();
    /** The newest seq this instance gave each recent user: a counter that went back was lost. */
    private readonly lastSeq = new Map<string, number>();
    private downUntil = 0;
    private lastLog = 0;
    /** Set when the sinks' lookups go out on the store's one memcached connection: prepare() then
     * runs as soon as the allocation is sent, not once it is answered — memcached answers a
     * connection's requests in order, so the lookup still comes after the INCR. */
    prepareOnSend = false;

    constructor(
        private readonly store: JournalStore,
        private readonly out: EventSink,
        private readonly opts: SequencerOptions = {}
    ) {}

    push(user: string, events: VmEvent[]): void {
        const queued = this.queues.get(user);
        if (queued) {
            queued.push(...events);
            return;
        }
        this.queues.set(user, [...events]);
        const run = this.drain(user).finally(() => this.running.delete(run));
        this.running.add(run);
    }

    /** Resolves once everything pushed so far has been handed on. */
    async idle(): Promise<void> {
        while (this.running.size) await Promise.allSettled([...this.running]);
    }

    private async drain(user: string): Promise<void> {
        await yieldToLoop(); // this turn's other events of the user join the first allocation
        for (;;) {
            const queued = this.queues.get(user)!;
            if (!queued.length) {
                this.queues.delete(user);
                return;
            }
            const batch = queued.splice(0);
            const { stamped, stored } = await this.sequence(user, batch);
            // In slices: a 70,000-event batch must not hold the event loop (LMTP, ingest) for long.
            for (let i = 0; i < stamped.length; i += SEQUENCER_EMIT_SLICE) {
                if (i) await yieldToLoop();
                for (const ev of stamped.slice(i, i + SEQUENCER_EMIT_SLICE)) this.out.emit(ev);
            }
            await stored;
        }
    }

    /** The batch stamped, and its journal write (settled, never rejecting; already stored unless
     * the store's reads wait for a missing tail). */
    private async sequence(user: string, batch: VmEvent[]): Promise<{ stamped: VmEvent[]; stored?: Promise<void> }> {
        if (Date.now() < this.downUntil) return { stamped: this.unsequenced(user, batch) };
        let lead = this.degraded.has(user) ? 1 : 0;
        let reason: ResetReason = 'sequence-unavailable';
        let first: number;
        try {
            first = await this.allocate(user, lead + batch.length);
            const known = this.lastSeq.get(user);
            if (known !== undefined && first <= known) {
                // memcached restarted or evicted the counter: jump past what we gave out, and say so.
                // The seqs skipped have no journal entries, so a replay across them answers reset.
                lead = 1;
                reason = 'sequence-restarted';
                const skip = known - first + 1;
                first = (await this.allocate(user, skip + lead + batch.length)) + skip;
            }
        } catch (err) {
            this.downUntil = Date.now() + (this.opts.retryMs ?? SEQUENCER_RETRY_MS);
            this.fail('allocate', err, user);
            return { stamped: this.unsequenced(user, batch) };
        }
        this.degraded.delete(user);
        this.remember(user, first + lead + batch.length - 1);
        const stamped: VmEvent[] = batch.map((ev, i) => ({ ...ev, seq: first + lead + i }));
        if (lead) stamped.unshift(resetEvent(user, reason, first));
        // A failed write: published anyway; a replay over these seqs finds the hole and answers with a reset.
        const stored = startAppend(this.store, stamped).catch(err => this.fail('append', err, user));
        // Work for these seqs that may overlap the journal write (the pusher's lookup), started before they are handed on.
        if (!this.prepareOnSend) this.out.prepare?.(user);
        if (!this.store.readWaitsForTail) await stored;
        return { stamped, stored };
    }

    private allocate(user: string, n: number): Promise<number> {
        const allocation = this.store.allocate(user, n); // sends the INCR before it returns
        if (this.prepareOnSend) this.out.prepare?.(user);
        return allocation;
    }

    private unsequenced(user: string, batch: VmEvent[]): VmEvent[] {
        if (this.degraded.size < SEQUENCER_USERS_LIMIT) this.degraded.add(user);
        return batch;
    }

    private remember(user: string, seq: number): void {
        this.lastSeq.delete(user); // re-insert: the map's order is least recently used first
        this.lastSeq.set(user, seq);
        if (this.lastSeq.size > SEQUENCER_USERS_LIMIT) this.lastSeq.delete(this.lastSeq.keys().next().value!);
    }

    private fail(op: 'allocate' | 'append', err: unknown, user: string): void {
        journalErrors.inc({ op });
        const now = Date.now();
        if (now - this.lastLog < SEQUENCER_LOG_INTERVAL_MS) return;
        this.lastLog = now;
        this.opts.logger?.warn({ err, user, op }, 'journal unavailable; events go out without seq or without a journal entry');
    }
}

/** store.append's promise; a store that throws at once gives a rejected one (handled like a failed write). */
function startAppend(store: JournalStore, events: VmEvent[]): Promise<void> {
    try {
        return store.append(events);
    } catch (err) {
        return Promise.reject(err);
    }
}
