// How the embedded journal's main thread gets its appends committed: by the writer thread
// (journal-writer.ts, a file store) or in-process after a turn of the loop (a `:memory:` store,
// which another connection cannot see). Either way commit() resolves only after the commit.
import { Worker } from 'node:worker_threads';
import type { StateDb } from '../state/db.js';
import { journalCommitter, type JournalRow, type WriteBatch } from './journal-commit.js';
import type { WriterData, WriterMessage, WriterReply } from './journal-writer.js';

export interface JournalWrites {
    commit(rows: JournalRow[], at: number): Promise<void>;
    /** Commits what is pending, then stops. */
    close(): Promise<void>;
}

interface Waiter {
    resolve: () => void;
    reject: (err: unknown) => void;
}

// vitest runs the TS sources, which a worker cannot load: the thread always runs compiled (dist/).
const WRITER = import.meta.url.endsWith('.ts') ? new URL('../../dist/publish/journal-writer.js', import.meta.url) : new URL('./journal-writer.js', import.meta.url);

export class WorkerWrites implements JournalWrites {
    private worker?: Worker;
    private next = 0;
    private closing = false;
    private readonly waiting = new Map<number, Waiter>();
    /** This turn's appends: posted together (one postMessage and one wake-up of the thread, not one per append). */
    private outbox: WriteBatch[] = [];

    constructor(private readonly data: WriterData) {}

    commit(rows: JournalRow[], at: number): Promise<void> {
        if (this.closing) return Promise.reject(new Error('journal closed'));
        return new Promise((resolve, reject) => {
            const id = ++this.next;
            this.waiting.set(id, { resolve, reject });
            this.worker ??= this.spawn(); // a thread that died is replaced by the next append
            if (this.outbox.push({ id, at, rows }) === 1) setImmediate(() => this.send());
        });
    }

    async close(): Promise<void> {
        this.closing = true; // no more appends; the thread is held until it exited
        this.send(); // this turn's appends first (they may be the thread's first)
        const w = this.worker;
        if (!w) return;
        const exited = new Promise(resolve => w.once('exit', resolve));
        w.ref();
        this.post('close');
        await exited; // also when it crashed meanwhile: 'exit' rejects whatever is left
    }

    private send(): void {
        const batches = this.outbox;
        this.outbox = [];
        if (!batches.length) return;
        this.post(batches);
        this.worker!.ref(); // appends waiting for their commit keep the process alive
    }

    private post(m: WriterMessage): void {
        // A thread that died is replaced by the next append (its own appends were rejected).
        this.worker ??= this.spawn();
        this.worker.postMessage(m);
    }

    private spawn(): Worker {
        const w = new Worker(WRITER, { workerData: this.data });
        w.unref(); // idle, it does not hold the process (commit() refs it while appends wait)
        w.on('message', (r: WriterReply) => {
            for (const id of r.ids) {
                const waiter = this.waiting.get(id);
                this.waiting.delete(id);
                if (r.error) waiter?.reject(new Error(`journal commit failed: ${r.error}`));
                else waiter?.resolve();
            }
            if (!this.waiting.size && !this.closing) w.unref();
        });
        w.on('error', err => this.lost(w, err));
        w.on('exit', code => this.lost(w, new Error(`journal writer exited with code ${code}`)));
        return w;
    }

    /** The thread is gone: what it had not answered is rejected (it may or may not be on disk). */
    private lost(w: Worker, err: unknown): void {
        if (this.worker !== w) return;
        this.worker = undefined;
        this.outbox = []; // rejected below: not to be written by the next thread
        const left = [...this.waiting.values()];
        this.waiting.clear();
        for (const waiter of left) waiter.reject(err);
    }
}

/** A `:memory:` store: appends of the same turn share one commit on the main connection. */
export class InlineWrites implements JournalWrites {
    private readonly commitBatches: (batches: WriteBatch[]) => void;
    private queue: (WriteBatch & Waiter)[] = [];

    constructor(db: StateDb, maxCount: number) {
        this.commitBatches = journalCommitter(db, maxCount);
    }

    commit(rows: JournalRow[], at: number): Promise<void> {
        return new Promise((resolve, reject) => {
            this.queue.push({ id: 0, at, rows, resolve, reject });
            if (this.queue.length === 1) setImmediate(() => this.flush());
        });
    }

    async close(): Promise<void> {
        this.flush();
    }

    private flush(): void {
        const batches = this.queue;
        this.queue = [];
        if (!batches.length) return;
        try {
            this.commitBatches(batches);
            for (const b of batches) b.resolve();
        } catch (err) {
            for (const b of batches) b.reject(err);
        }
    }
}
