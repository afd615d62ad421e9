// The embedded journal's writes: the appends of one turn of the loop go into ONE transaction after
// it, with the counters they number and the per-user trim. On the main thread: with
// synchronous = NORMAL (journal-boot.ts) a commit is a WAL append, no fsync — ~30 µs for one
// event, less than handing it to a writer thread cost (postMessage both ways and the thread's own
// commit: ~120 µs more CPU per hook message, bench/README "Serve's CPU per hook batch").
import type { StateDb } from '../state/db.js';

/** One event as stored: its user, seq and encoded JSON. */
export type JournalRow = [user: string, seq: number, ev: string];

interface Append {
    at: number;
    rows: JournalRow[];
    resolve: () => void;
    reject: (err: unknown) => void;
}

export class GroupCommit {
    private readonly commitAll: (appends: Append[]) => void;
    private queue: Append[] = [];
    private closed = false;

    constructor(db: StateDb, maxCount: number) {
        const insert = db.prepare('INSERT OR REPLACE INTO journal (user, seq, at, ev) VALUES (?, ?, ?, ?)');
        const setCurrent = db.prepare('INSERT INTO seq (user, current) VALUES (?, ?) ON CONFLICT (user) DO UPDATE SET current = max(current, excluded.current)');
        const trimUser = db.prepare('DELETE FROM journal WHERE user = ? AND seq <= ?');
        this.commitAll = db.transaction((appends: Append[]) => {
            const top = new Map<string, number>();
            for (const a of appends) {
                for (const [user, seq, ev] of a.rows) {
                    insert.run(user, seq, a.at, ev);
                    top.set(user, Math.max(top.get(user) ?? 0, seq));
                }
            }
            for (const [user, seq] of top) {
                setCurrent.run(user, seq);
                trimUser.run(user, seq - maxCount);
            }
        });
    }

    /** Resolves once committed (after this turn of the loop, with the turn's other appends). */
    commit(rows: JournalRow[], at: number): Promise<void> {
        if (this.closed) return Promise.reject(new Error('journal closed'));
        return new Promise((resolve, reject) => {
            if (this.queue.push({ at, rows, resolve, reject }) === 1) setImmediate(() => this.flush());
        });
    }

    /** Commits what is pending; later appends are refused. */
    close(): void {
        this.flush();
        this.closed = true;
    }

    private flush(): void {
        const appends = this.queue;
        this.queue = [];
        if (!appends.length) return;
        try {
            this.commitAll(appends);
            for (const a of appends) a.resolve();
        } catch (err) {
            const failed = new Error(`journal commit failed: ${String(err)}`);
            for (const a of appends) a.reject(failed);
        }
    }
}
