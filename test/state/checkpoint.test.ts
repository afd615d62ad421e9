// The state stores' WAL is checkpointed by a background thread: a store whose own connection never
// checkpoints still gets its WAL copied into the database file, again after the thread died, and
// the thread ends when the last store is gone.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointInBackground, checkpointThread } from '../../src/state/checkpoint.js';
import { waitFor } from '../helpers/net.js';

const dirs: string[] = [];
afterEach(() => {
    while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

/** A WAL store whose own connection never checkpoints, and a way to add 100 KB to it. */
function store(): { file: string; db: Database.Database; grow: () => void } {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-ckpt-'));
    dirs.push(dir);
    const file = path.join(dir, 'state.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (v TEXT)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    return { file, db, grow: db.transaction(() => Array.from({ length: 100 }, () => insert.run('x'.repeat(1000)))) };
}

const size = (file: string) => statSync(file).size;

describe('checkpointInBackground', () => {
    it("copies a store's WAL into its database file, again after its thread died; the thread ends with the last store", async () => {
        const a = store();
        const b = store();
        const stopA = checkpointInBackground(a.file);
        const stopB = checkpointInBackground(b.file);
        a.grow();
        b.grow();
        const before = [size(a.file), size(b.file)];
        await waitFor(() => size(a.file) > before[0] + 50_000 && size(b.file) > before[1] + 50_000, 15_000, 'both checkpointed');

        await checkpointThread()!.terminate();
        a.grow();
        const grown = size(a.file);
        await waitFor(() => size(a.file) > grown + 50_000, 15_000, 'checkpointed by a new thread');

        stopA();
        stopA(); // twice is once
        expect(checkpointThread()).toBeDefined(); // b still needs it
        stopB();
        expect(checkpointThread()).toBeUndefined();
        a.db.close();
        b.db.close();
    });
});
