// The embedded journal's write transaction, shared by the writer thread (journal-writer.ts) and
// the in-process writer of a `:memory:` store: every batch that arrived while the previous commit
// ran goes into ONE transaction (one fsync), with the counters they number and the per-user trim.
import type { StateDb } from '../state/db.js';

/** One event as stored: its user, seq and encoded JSON (encoded once, by the main thread). */
export type JournalRow = [user: string, seq: number, ev: string];

/** One append(): its id (to answer it) and the time its events are kept from. */
export interface WriteBatch {
    id: number;
    at: number;
    rows: JournalRow[];
}

export function journalCommitter(db: StateDb, maxCount: number): (batches: WriteBatch[]) => void {
    const insert = db.prepare('INSERT OR REPLACE INTO journal (user, seq, at, ev) VALUES (?, ?, ?, ?)');
    const setCurrent = db.prepare('INSERT INTO seq (user, current) VALUES (?, ?) ON CONFLICT (user) DO UPDATE SET current = max(current, excluded.current)');
    const trimUser = db.prepare('DELETE FROM journal WHERE user = ? AND seq <= ?');
    return db.transaction((batches: WriteBatch[]) => {
        const top = new Map<string, number>();
        for (const b of batches) {
            for (const [user, seq, ev] of b.rows) {
                insert.run(user, seq, b.at, ev);
                top.set(user, Math.max(top.get(user) ?? 0, seq));
            }
        }
        for (const [user, seq] of top) {
            setCurrent.run(user, seq);
            trimUser.run(user, seq - maxCount);
        }
    });
}
