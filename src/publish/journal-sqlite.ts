// The embedded journal (with the `memory` resolver): per-user counters and events in the state
// directory's SQLite store (state/db.ts), so a restart continues every user's seq and a replay
// across it finds the events. A new store (first start, or the directory was lost) numbers from
// its creation time in µs, so its seqs are above any an earlier store gave out (that would take a
// user more than 1,000 events per ms since that store began): an older cursor
// (or 0) gets a reset to the store's start followed by what the store has, never a silent skip.
// Counters are persisted with the events they number, in one transaction, before those events
// are handed on; seqs allocated but never written were never seen, so reusing them is harmless.
import type { VmEvent } from '../events/event.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { metaValue, openStateDb, type StateDb } from '../state/db.js';
import { decodeEvent, encodeSequenced } from '../wire/json.js';
import { DEFAULT_LIMITS, resetEvent, type JournalLimits, type JournalStore, type ReadResult } from './journal.js';
import { JOURNAL_SLICE, JOURNAL_SWEEP_MS, JOURNAL_CACHE_USERS } from '../limits.js';
import { DEFAULTS } from '../config.js';

export interface SqliteJournalOptions extends Partial<JournalLimits> {
    /** Events kept over all users; the oldest go first (default 500 000). */
    maxTotal?: number;
}

export class SqliteJournal implements JournalStore {
    /** Exposed for bench/state-store.mjs (pragma comparisons). */
    readonly db: StateDb;
    private readonly base: number;
    private readonly limits: JournalLimits & { maxTotal: number };
    /** Counters as allocated (ahead of the store while a batch is in flight), least recent first. */
    private readonly counters = new Map<string, number>();
    private readonly sweeper: NodeJS.Timeout;
    private readonly pending: { events: VmEvent[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
    private readonly q;

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
        this.base = Number(metaValue(this.db, 'seq-base', () => String(Date.now() * 1000)));
        this.q = {
            current: this.db.prepare<[string], { current: number }>('SELECT current FROM seq WHERE user = ?'),
            setCurrent: this.db.prepare('INSERT INTO seq (user, current) VALUES (?, ?) ON CONFLICT (user) DO UPDATE SET current = max(current, excluded.current)'),
            insert: this.db.prepare('INSERT OR REPLACE INTO journal (user, seq, at, ev) VALUES (?, ?, ?, ?)'),
            trimUser: this.db.prepare('DELETE FROM journal WHERE user = ? AND seq <= ?'),
            read: this.db.prepare<[string, number, number], { ev: string }>('SELECT ev FROM journal WHERE user = ? AND seq > ? ORDER BY seq LIMIT ?'),
            trimTotal: this.db.prepare('DELETE FROM journal WHERE id <= (SELECT max(id) FROM journal) - ?'),
            expire: this.db.prepare('DELETE FROM journal WHERE id IN (SELECT id FROM journal WHERE at < ? ORDER BY id LIMIT ?)')
        };
        this.sweeper = setInterval(() => void this.sweep(), JOURNAL_SWEEP_MS).unref();
    }

    async allocate(user: string, n: number): Promise<number> {
        const current = this.current(user);
        this.remember(user, current + n);
        return current + 1;
    }

    /** Group commit: appends from every user in the same turn of the loop share one transaction
     * (one fsync); long ones are written in slices, yielding to the event loop between them. */
    append(events: VmEvent[]): Promise<void> {
        return new Promise((resolve, reject) => {
            this.pending.push({ events, resolve, reject });
            if (this.pending.length === 1) void yieldToLoop().then(() => this.flush());
        });
    }

    private async flush(): Promise<void> {
        const waiting = this.pending.splice(0);
        const events = waiting.flatMap(w => w.events);
        try {
            for (let i = 0; i < events.length; i += JOURNAL_SLICE) {
                if (i) await yieldToLoop();
                this.write(events.slice(i, i + JOURNAL_SLICE));
            }
            for (const w of waiting) w.resolve();
        } catch (err) {
            for (const w of waiting) w.reject(err);
        }
    }

    async read(user: string, since: number, limit = this.limits.maxCount): Promise<ReadResult> {
        if (since < this.base) {
            // A cursor from before this store (0, or a lost store's): resync to its start, then
            // everything it has — if it still has everything, else the usual reset.
            const r = await this.read(user, this.base, limit);
            return r.gap ? r : { current: r.current, events: [resetEvent(user, 'cursor-too-old', this.base), ...r.events] };
        }
        // What is written, not what is allocated: a seq handed out whose write is still in flight is
        // not readable yet, and counting it would make a contiguous replay look like a gap (reset).
        const current = this.q.current.get(user)?.current ?? this.base;
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
        if (this.db.open) this.db.close();
    }

    private write(events: VmEvent[]): void {
        const now = Date.now();
        const top = new Map<string, number>();
        this.db.transaction(() => {
            for (const ev of events) {
                this.q.insert.run(ev.user, ev.seq!, now, encodeSequenced(ev));
                top.set(ev.user, Math.max(top.get(ev.user) ?? 0, ev.seq!));
            }
            for (const [user, seq] of top) {
                this.q.setCurrent.run(user, seq);
                this.q.trimUser.run(user, seq - this.limits.maxCount);
            }
        })();
    }

    private current(user: string): number {
        return this.counters.get(user) ?? this.q.current.get(user)?.current ?? this.base;
    }

    private remember(user: string, seq: number): void {
        this.counters.delete(user); // re-insert: least recently used first
        this.counters.set(user, seq);
        if (this.counters.size > JOURNAL_CACHE_USERS) this.counters.delete(this.counters.keys().next().value!);
    }

    /** Retention and the total cap, in slices so a large expiry never stalls the loop. */
    private async sweep(): Promise<void> {
        if (!this.db.open) return;
        this.q.trimTotal.run(this.limits.maxTotal);
        const cutoff = Date.now() - this.limits.retentionSec * 1000;
        while (this.db.open && this.q.expire.run(cutoff, JOURNAL_SLICE).changes === JOURNAL_SLICE) await yieldToLoop();
    }
}
