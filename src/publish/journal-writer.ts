// The embedded journal's writer thread: its own connection to state.db (synchronous FULL) commits
// the appends the main thread posts, so the fsync never holds the event loop. Natural group
// commit: whatever arrived while a commit ran is committed next, as one transaction — the group
// grows with load and never waits on a timer. Each batch is answered only after its commit.
import { parentPort, workerData } from 'node:worker_threads';
import { openStateDb } from '../state/db.js';
import { journalCommitter, type WriteBatch } from './journal-commit.js';

export interface WriterData {
    stateDir: string;
    maxCount: number;
    /** bench/state-store.mjs compares FULL with NORMAL; serve always keeps FULL. */
    synchronous?: 'FULL' | 'NORMAL';
}

/** What the writer answers: the batches committed, or the error that rolled them back. */
export interface WriterReply {
    ids: number[];
    error?: string;
}

/** The appends of one turn of the main thread's loop, or the end. */
export type WriterMessage = WriteBatch[] | 'close';

const port = parentPort!;
const data = workerData as WriterData;
// The main thread claimed the directory (same process): no claim here.
const db = openStateDb(data.stateDir, { claim: false });
if (data.synchronous) db.pragma(`synchronous = ${data.synchronous}`);
const commit = journalCommitter(db, data.maxCount);
let queue: WriteBatch[] = [];

function flush(): void {
    const batches = queue;
    queue = [];
    if (!batches.length) return;
    const ids = batches.map(b => b.id);
    try {
        commit(batches);
        port.postMessage({ ids } satisfies WriterReply);
    } catch (err) {
        port.postMessage({ ids, error: String(err) } satisfies WriterReply);
    }
}

port.on('message', (m: WriterMessage) => {
    if (m === 'close') {
        // Posted after every append: commit what is queued, then end the thread.
        flush();
        db.close();
        port.close();
        return;
    }
    const first = !queue.length;
    queue.push(...m);
    // setImmediate runs after this poll phase: every batch that arrived meanwhile joins the commit.
    if (first) setImmediate(flush);
});
