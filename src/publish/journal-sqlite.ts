// The embedded journal (with the `memory` resolver): per-user counters and events in the state
// directory's SQLite store (state/db.ts), so a restart continues every user's seq and a replay
// across it finds the events. A new store (first start, or the directory was lost) numbers from
// its creation time in µs, so its seqs are above any an earlier store gave out (that would take a
// user more than 1,000 events per ms since that store began): an older cursor
// (or 0) gets a reset to the store's start followed by what the store has, never a silent skip.
// Counters are persisted with the events they number, in one transaction, before those events
// are handed on; seqs allocated but never written were never seen, so reusing them is harmless.
// The commits run on this thread without an fsync each (journal-commit.ts); journal-boot.ts says
// why a seq still never repeats after a power loss, state/checkpoint.ts syncs in the background.
import type { VmEvent } from '../events/event.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { metaValue, openStateDb, type StateDb } from '../state/db.js';
import { decodeEvent, encodeSequenced } from '../wire/json.js';
import { syncInBackground } from '../state/checkpoint.js';
import { GroupCommit, type JournalRow } from './journal-commit.js';
import { closeForBoot, currentBootId, openForBoot, SEQ_BASE } from './journal-boot.js';
import { DEFAULT_LIMITS, resetEvent, type JournalLimits, type JournalStore, type ReadResult } from './journal.js';
import { JOURNAL_SLICE, JOURNAL_SWEEP_MS, JOURNAL_CACHE_USERS } from '../limits.js';
import { DEFAULTS } from '../config.js';

export interface SqliteJournalOptions extends Partial<JournalLimits> {
    /** Events kept over all users; the oldest go first (default 500 000). */
    maxTotal?: number;
    /** This boot's id (journal-boot.ts; tests give another to play a reboot). */
    bootId?: string;
}

export class SqliteJournal implements JournalStore {
    /** The read connection (the sweep writes through it too, once a minute, waiting on busy_timeout). */
    readonly db: StateDb;
    private readonly base: number;
    private readonly limits: JournalLimits & { maxTotal: number };
    /** Counters as allocated (ahead of the store while a batch is in flight), least recent first. */
    private readonly counters = new Map<string, number>();
    private readonly sweeper: NodeJS.Timeout;
    /** Per user, the appends not yet settled: reads wait for them; the counter is never evicted meanwhile. */
    private readonly writing = new Map<string, Promise<unknown>>();
    private readonly writes: GroupCommit;
    private readonly q;
    /** Set when the store was found open from another boot and every seq jumped to here. */
    readonly jumpedTo?: number;
    private readonly stopCheckpoints?: () => void;

    constructor(stateDir: string, opts: SqliteJournalOptions = {}) {
        this.limits = {
            retentionSec: opts.retentionSec ?? DEFAULT_LIMITS.retentionSec,
            maxCount: opts.maxCount ?? DEFAULT_LIMITS.maxCount,
            maxTotal: opts.maxTotal ?? DEFAULTS.journalMaxTotal
        };
        this.db = openStateDb(stateDir);
        this.db.exec(`CREATE TABLE IF NOT EXISTS seq (user TEXT PRIMARY KEY, current INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY, user TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, ev TEXT NOT NULL);
            CREATE UNIQUE INDEX IF NOT EXISTS journal_user_seq ON journal (user, seq);`);
        if (stateDir !== ':memory:') {
            this.jumpedTo = openForBoot(this.db, opts.bootId ?? currentBootId());
            this.stopCheckpoints = syncInBackground(this.db);
        }
        this.base = Number(metaValue(this.db, SEQ_BASE, () => String(Date.now() * 1000)));
        this.q = {
            current: this.db.prepare<[string], { current: number }>('SELECT current FROM seq WHERE user = ?'),
            read: this.db.prepare<[string, number, number], { ev: string }>('SELECT ev FROM journal WHERE user = ? AND seq > ? ORDER BY seq LIMIT ?'),
            trimTotal: this.db.prepare('DELETE FROM journal WHERE id <= (SELECT max(id) FROM journal) - ?'),
            expire: this.db.prepare('DELETE FROM journal WHERE id IN (SELECT id FROM journal WHERE at < ? ORDER BY id LIMIT ?)')
        };
        this.writes = new GroupCommit(this.db, this.limits.maxCount);
        this.sweeper = setInterval(() => void this.sweep(), JOURNAL_SWEEP_MS).unref();
    }

    async allocate(user: string, n: number): Promise<number> {
        const current = this.current(user);
        this.remember(user, current + n);
        return current + 1;
    }

    /** Resolves once the events are committed (after this turn of the loop, with its other
     * appends); long ones are committed in slices, letting the loop run between them. */
    append(events: VmEvent[]): Promise<void> {
        const done = this.commit(events);
        for (const user of new Set(events.map(ev => ev.user))) {
            const all = Promise.allSettled([this.writing.get(user), done]);
            this.writing.set(user, all);
            void all.then(() => this.writing.get(user) === all && this.writing.delete(user));
        }
        return done;
    }

    private commit(events: VmEvent[]): Promise<void> {
        // the usual append (a message's events, a burst): one slice, no extra promise chain
        if (events.length <= JOURNAL_SLICE) return this.writes.commit(events.map(row), Date.now());
        return this.commitSliced(events);
    }

    private async commitSliced(events: VmEvent[]): Promise<void> {
        const commits: Promise<void>[] = [];
        for (let i = 0; i < events.length; i += JOURNAL_SLICE) {
            if (i) await yieldToLoop();
            commits.push(this.writes.commit(events.slice(i, i + JOURNAL_SLICE).map(row), Date.now()));
        }
        // Every slice settles before the append does; the first failure is reported.
        const failed = (await Promise.allSettled(commits)).find(r => r.status === 'rejected');
        if (failed) throw failed.reason;
    }

    async read(user: string, since: number, limit = this.limits.maxCount): Promise<ReadResult> {
        if (since < this.base) {
            // A cursor from before this store (0, or a lost store's): resync to its start, then
            // everything it has — if it still has everything, else the usual reset.
            const r = await this.read(user, this.base, limit);
            return r.gap ? r : { current: r.current, events: [resetEvent(user, 'cursor-too-old', this.base), ...r.events] };
        }
        // Writes in flight for this user are read once committed (a few ms), not reported lost. Then
        // what is written, not what is allocated: a seq handed out whose append has not begun is not
        // readable yet, and counting it would make a contiguous replay look like a gap (a reset).
        await this.writing.get(user);
        const current = this.written(user);
        if (since > current) return { current, events: [], gap: 'cursor-ahead' };
        if (since === current) return { current, events: [] };
        const want = Math.min(limit, current - since);
        // A row whose JSON names another user is never handed out (and counts as missing).
        const events = this.q.read
            .all(user, since, want)
            .map(r => decodeEvent(r.ev))
            .filter((ev): ev is VmEvent => ev?.user === user);
        const contiguous = events.length === want && events.every((ev, i) => ev.seq === since + 1 + i);
        return contiguous ? { current, events } : { current, events: [], gap: 'cursor-too-old' };
    }

    async close(): Promise<void> {
        clearInterval(this.sweeper);
        // Appends still being sliced and sent settle first (a dead writer rejects, never hangs).
        await Promise.allSettled([...this.writing.values()]);
        this.writes.close();
        this.stopCheckpoints?.();
        if (!this.db.open) return;
        if (this.stopCheckpoints) closeForBoot(this.db);
        this.db.close();
    }

    /** The allocated top: ahead of the store while writes are in flight. */
    private current(user: string): number {
        return this.counters.get(user) ?? this.written(user);
    }

    /** The committed top (the seq table is written in the same transaction as the events). */
    private written(user: string): number {
        return this.q.current.get(user)?.current ?? this.base;
    }

    private remember(user: string, seq: number): void {
        this.counters.delete(user); // re-insert: least recently used first
        this.counters.set(user, seq);
        if (this.counters.size <= JOURNAL_CACHE_USERS) return;
        // The least recent without a write in flight: an evicted counter is read back from the store.
        for (const u of this.counters.keys()) {
            if (this.writing.has(u)) continue;
            this.counters.delete(u);
            return;
        }
    }

    /** Retention and the total cap, in slices so a large expiry never stalls the loop. */
    private async sweep(): Promise<void> {
        if (!this.db.open) return;
        this.q.trimTotal.run(this.limits.maxTotal);
        const cutoff = Date.now() - this.limits.retentionSec * 1000;
        while (this.db.open && this.q.expire.run(cutoff, JOURNAL_SLICE).changes === JOURNAL_SLICE) await yieldToLoop();
    }
}

const row = (ev: VmEvent): JournalRow => [ev.user, ev.seq!, encodeSequenced(ev)];
