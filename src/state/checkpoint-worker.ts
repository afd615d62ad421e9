// The checkpoint thread (checkpoint.ts): its own connection to each registered store, a PASSIVE
// checkpoint of each every period. PASSIVE never waits for readers or writers: what it cannot
// copy now it copies next time, and the main thread's commits never wait for it.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointMessage {
    add?: string;
    remove?: string;
}

const port = parentPort!;
const { intervalMs } = workerData as { intervalMs: number };
const dbs = new Map<string, Database.Database>();

port.on('message', (m: CheckpointMessage) => {
    if (m.add && !dbs.has(m.add)) {
        try {
            dbs.set(m.add, new Database(m.add, { fileMustExist: true }));
        } catch {
            // gone meanwhile (a test's temp dir): nothing to checkpoint
        }
    }
    if (m.remove) {
        dbs.get(m.remove)?.close();
        dbs.delete(m.remove);
    }
});

setInterval(() => {
    for (const db of dbs.values()) {
        try {
            db.pragma('wal_checkpoint(PASSIVE)');
        } catch {
            // a store being closed or deleted: its remove message follows
        }
    }
}, intervalMs);
