// The uid → message index of the embedded default, in the state directory's `index.db` (state/db.ts),
// so flag/move/delete events after a restart still carry class, voicemail and Message-ID. Keyed
// by the columns themselves (no joined string a user name could forge), bounded in rows: the
// least recently written go first, and entries expire after `ttlSec` like the memcached index.
// Writes are batched: the sets and deletes of INDEX_COMMIT_MS commit in ONE transaction (one WAL
// append instead of one per new message), and get() sees them meanwhile. A commit's fixed cost
// was ~60 µs of serve's CPU per hook message with one per turn of the loop (bench/README "Serve's
// CPU per hook batch"); 10 ms of rows is a few at most, a commit short enough not to show under
// an LMTP reply (a 100 ms window's ~1 ms commit did: +0.5 ms on the added reply time's p99).
// Its own file, not state.db: a commit here never waits, asleep in SQLite's busy handler, for a
// lock on state.db held elsewhere (an admin command's write; when the journal had a writer thread,
// that thread's fsync: the main thread was busy 3.1 s for 8,000 hook batches, 1.7 s here).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { syncInBackground } from '../state/checkpoint.js';
import { openStateDb, type StateDb } from '../state/db.js';
import { IndexEntrySchema, type IndexEntry, type IndexStore, type MessageRef } from './index-store.js';
import { INDEX_SWEEP_MS, INDEX_PACE, INDEX_BATCH_MAX, INDEX_COMMIT_MS, UID_INDEX_TTL_SEC, UID_INDEX_ROWS_MAX } from '../limits.js';

/** A write not yet committed: the entry to set, or undefined to delete. */
interface Pending {
    ref: MessageRef;
    entry?: string;
}

export class SqliteIndex implements IndexStore {
    private readonly db: StateDb;
    private readonly sweeper: NodeJS.Timeout;
    private readonly q;
    private readonly commit: (writes: Iterable<Pending>, at: number) => void;
    private pending = new Map<string, Pending>();
    private timer?: NodeJS.Timeout;
    private calls = 0;
    private readonly stopCheckpoints?: () => void;

    constructor(
        stateDir: string,
        private readonly maxRows = UID_INDEX_ROWS_MAX,
        private readonly ttlSec = UID_INDEX_TTL_SEC
    ) {
        this.db = openStateDb(stateDir, { file: 'index.db' });
        if (stateDir !== ':memory:') {
            dropOldTable(stateDir);
            // A cache (a lost entry is looked up again over IMAP), written once per new message: no
            // fsync per commit (WAL + NORMAL still survives a crash of the process, not a power
            // loss), the checkpoint's off this thread. Measured: 42 µs per set instead of 185 (33 µs
            // CPU instead of 94); `set` was the bridge's top function receiving a Dovecot hook's
            // batches (bench/dovecot-cost.mjs BENCH_PROFILE=1).
            this.stopCheckpoints = syncInBackground(this.db);
        }
        this.db.exec(`CREATE TABLE IF NOT EXISTS idx (user TEXT NOT NULL, mailbox TEXT NOT NULL, uv INTEGER NOT NULL, uid INTEGER NOT NULL,
            at INTEGER NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (user, mailbox, uv, uid));
            CREATE INDEX IF NOT EXISTS idx_at ON idx (at);`);
        const where = 'user = ? AND mailbox = ? AND uv = ? AND uid = ?';
        this.q = {
            get: this.db.prepare<[string, string, number, number], { entry: string }>(`SELECT entry FROM idx WHERE ${where}`),
            set: this.db.prepare('INSERT OR REPLACE INTO idx (user, mailbox, uv, uid, at, entry) VALUES (?, ?, ?, ?, ?, ?)'),
            delete: this.db.prepare(`DELETE FROM idx WHERE ${where}`),
            expire: this.db.prepare('DELETE FROM idx WHERE at < ?'),
            trim: this.db.prepare('DELETE FROM idx WHERE rowid IN (SELECT rowid FROM idx ORDER BY at LIMIT max(0, (SELECT count(*) FROM idx) - ?))')
        };
        this.commit = this.db.transaction((writes: Iterable<Pending>, at: number) => {
            for (const { ref: r, entry } of writes) {
                if (entry === undefined) this.q.delete.run(r.user, r.mailbox, r.uidValidity, r.uid);
                else this.q.set.run(r.user, r.mailbox, r.uidValidity, r.uid, at, entry);
            }
        });
        this.sweeper = setInterval(() => this.sweep(), INDEX_SWEEP_MS).unref();
    }

    async get(ref: MessageRef): Promise<IndexEntry | undefined> {
        await this.pace();
        const p = this.pending.get(keyOf(ref));
        const text = p ? p.entry : this.db.open ? this.q.get.get(ref.user, ref.mailbox, ref.uidValidity, ref.uid)?.entry : undefined;
        if (text === undefined) return undefined;
        const parsed = IndexEntrySchema.safeParse(JSON.parse(text));
        return parsed.success ? parsed.data : undefined;
    }

    async set(ref: MessageRef, entry: IndexEntry): Promise<void> {
        this.queue(ref, JSON.stringify(entry)); // at once: a get() right after sees it
        await this.pace();
    }

    async delete(ref: MessageRef): Promise<void> {
        this.queue(ref, undefined);
    }

    async close(): Promise<void> {
        clearInterval(this.sweeper);
        this.flush();
        this.stopCheckpoints?.();
        if (this.db.open) this.db.close();
    }

    /** The last write per message wins; the first of a window schedules the commit at its end. */
    private queue(ref: MessageRef, entry: string | undefined): void {
        if (!this.db.open) return;
        const k = keyOf(ref);
        this.pending.delete(k); // re-inserted: the commit applies writes in the order they were last made
        this.pending.set(k, { ref, entry });
        if (this.pending.size === 1)
            this.timer = setTimeout(() => this.flush(), INDEX_COMMIT_MS).unref(); // close() commits the rest
        else if (this.pending.size >= INDEX_BATCH_MAX) this.flush(); // a long batch commits in slices
    }

    private flush(): void {
        clearTimeout(this.timer);
        const writes = this.pending;
        if (!writes.size || !this.db.open) return;
        this.pending = new Map();
        try {
            this.commit(writes.values(), Date.now());
        } catch {
            // a cache (full disk, locked store): a lost entry is looked up again over IMAP
        }
    }

    /** Every INDEX_PACE-th call lets the event loop run: a caller awaiting lookups for a 70,000-event
     * batch in one loop would otherwise hold it for the whole batch (synchronous SQLite calls). */
    private async pace(): Promise<void> {
        if (++this.calls % INDEX_PACE === 0) await yieldToLoop();
    }

    private sweep(): void {
        if (!this.db.open) return;
        this.q.expire.run(Date.now() - this.ttlSec * 1000);
        this.q.trim.run(this.maxRows);
    }
}

/** The index used to be state.db's `idx` table: a cache, so it is dropped, not copied. */
function dropOldTable(stateDir: string): void {
    const db = openStateDb(stateDir, { claim: false });
    try {
        db.exec('DROP TABLE IF EXISTS idx');
    } finally {
        db.close();
    }
}

/** The columns, unambiguous (JSON), as the key of a write in flight. */
const keyOf = (r: MessageRef) => JSON.stringify([r.user, r.mailbox, r.uidValidity, r.uid]);
