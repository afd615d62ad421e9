// WAL checkpoints of the state directory's stores, off the event loop. The stores commit on the
// main thread with synchronous = NORMAL (no fsync per commit); what remains to sync is the
// checkpoint, which copies the WAL into the database file and fsyncs both: here a thread does it
// every STATE_CHECKPOINT_MS, so that fsync never holds the loop. One thread serves every store
// of the process. If it dies, a new one starts a period later; meanwhile each connection's own
// wal_autocheckpoint (STATE_WAL_BACKSTOP_PAGES) still bounds the WAL.
import { Worker } from 'node:worker_threads';
import { STATE_CHECKPOINT_MS, STATE_WAL_BACKSTOP_PAGES } from '../limits.js';
import type { CheckpointMessage } from './checkpoint-worker.js';
import type { StateDb } from './db.js';

// vitest runs the TS sources, which a worker cannot load: the thread always runs compiled (dist/).
const WORKER = import.meta.url.endsWith('.ts') ? new URL('../../dist/state/checkpoint-worker.js', import.meta.url) : new URL('./checkpoint-worker.js', import.meta.url);

/** Store file → how many open stores registered it. */
const files = new Map<string, number>();
let worker: Worker | undefined;

/** From now on the store's connection commits without an fsync each and its WAL is checkpointed
 * here, until the returned function is called. */
export function syncInBackground(db: StateDb): () => void {
    db.pragma('synchronous = NORMAL');
    db.pragma(`wal_autocheckpoint = ${STATE_WAL_BACKSTOP_PAGES}`);
    return checkpointInBackground(db.name);
}

/** Checkpoints `file` (a WAL-mode SQLite database) in the background until the returned function is called. */
export function checkpointInBackground(file: string): () => void {
    const n = (files.get(file) ?? 0) + 1;
    files.set(file, n);
    if (n === 1) post({ add: file });
    let stopped = false;
    return () => {
        if (stopped) return;
        stopped = true;
        const left = files.get(file)! - 1;
        if (left) return void files.set(file, left);
        files.delete(file);
        post({ remove: file });
        if (files.size) return;
        const w = worker;
        worker = undefined;
        void w?.terminate();
    };
}

function post(m: CheckpointMessage): void {
    worker ??= spawn();
    worker.postMessage(m);
}

function spawn(): Worker {
    const w = new Worker(WORKER, { workerData: { intervalMs: STATE_CHECKPOINT_MS } });
    w.unref(); // it never holds the process: a clean close checkpoints on its own connection
    w.on('error', () => undefined); // 'exit' follows
    w.on('exit', () => {
        if (worker !== w) return;
        worker = undefined;
        if (files.size) setTimeout(respawn, STATE_CHECKPOINT_MS).unref();
    });
    return w;
}

function respawn(): void {
    if (worker || !files.size) return;
    for (const file of files.keys()) post({ add: file });
}

/** The thread, while one runs (tests: to end it and see it replaced). */
export const checkpointThread = (): Worker | undefined => worker;
