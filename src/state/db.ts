// The state directory's embedded store (`<state-dir>/state.db`): SQLite through better-sqlite3,
// in WAL mode. Why SQLite: one file, transactions that survive a crash (SIGKILL, power loss with
// synchronous=FULL), tens of thousands of rows per second from one synchronous call, and no
// server to run. Each store opens its own connection; WAL lets them share the file.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_BUSY_TIMEOUT_MS } from '../limits.js';

export type StateDb = Database.Database;

/** Creates the directory (0750: the bus socket and token live there too) and opens the store
 * (`file`: another store in the directory, e.g. the uid index's own `index.db`). */
export function openStateDb(stateDir: string, opts: { claim?: boolean; file?: string } = {}): StateDb {
    if (stateDir === ':memory:') return configure(new Database(':memory:'));
    const dir = path.resolve(stateDir);
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    // Admin commands (vmbridge webhook …) edit small tables beside a running serve: no claim.
    if (opts.claim !== false) claim(dir);
    const file = path.join(dir, opts.file ?? 'state.db');
    const db = configure(new Database(file));
    chmodSync(file, 0o600);
    return db;
}

function configure(db: StateDb): StateDb {
    db.pragma('journal_mode = WAL');
    // FULL: each commit fsynced (tokens, webhooks: rare writes). The journal and the uid index
    // switch their own connections to NORMAL (publish/journal-boot.ts says why that is safe).
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    db.exec(`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
    return db;
}

/** A value kept in the store's meta table, created by `init` the first time. */
export function metaValue(db: StateDb, key: string, init: () => string): string {
    db.prepare('INSERT OR IGNORE INTO meta (k, v) VALUES (?, ?)').run(key, init());
    return readMeta(db, key)!;
}

/** The meta table's value for the key, if any. */
export function readMeta(db: StateDb, key: string): string | undefined {
    return db.prepare('SELECT v FROM meta WHERE k = ?').pluck().get(key) as string | undefined;
}

/** Sets (or, with undefined, removes) the meta table's value for the key. */
export function writeMeta(db: StateDb, key: string, value: string | undefined): void {
    if (value === undefined) db.prepare('DELETE FROM meta WHERE k = ?').run(key);
    else db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)').run(key, value);
}

/** One bridge process per state directory: seq counters are cached in the process that owns them. */
function claim(dir: string): void {
    const lock = path.join(dir, 'serve.pid');
    let holder = 0;
    try {
        holder = Number(readFileSync(lock, 'utf8'));
    } catch {
        // no lock yet
    }
    if (holder && holder !== process.pid && alive(holder)) {
        throw new Error(`state directory ${dir} is in use by process ${holder} (another vmbridge serve?); give each bridge its own --state-dir`);
    }
    writeFileSync(lock, String(process.pid), { mode: 0o640 });
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
}
