// The embedded uid index in the state directory's index.db: it survives a reopen (a restart keeps class,
// voicemail and Message-ID for later events), and names that would collide as joined strings
// stay apart (the key is the columns themselves). Writes of INDEX_COMMIT_MS commit together at
// its end: reads see them before, a restart keeps them, the last write of a message wins. The
// journal's state.db is another file, so a commit here never waits for a lock held there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import Database from 'better-sqlite3';
import { SqliteIndex } from '../../src/events/index-sqlite.js';
import { INDEX_BATCH_MAX, INDEX_COMMIT_MS } from '../../src/limits.js';
import { waitFor } from '../helpers/net.js';

/** Rows as another connection (another process) sees them. */
function committed(dir: string): number {
    const db = new Database(path.join(dir, 'index.db'), { readonly: true });
    try {
        return (db.prepare('SELECT count(*) AS n FROM idx').get() as { n: number }).n;
    } finally {
        db.close();
    }
}
const tick = () => new Promise(resolve => setImmediate(resolve));

const dirs: string[] = [];
afterEach(() => {
    vi.useRealTimers();
    while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

describe('SqliteIndex', () => {
    it('keeps entries across a reopen and deletes them', async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'vmb-index-'));
        dirs.push(dir);
        const ref = { user: 'alice', mailbox: 'INBOX', uidValidity: 7, uid: 42 };
        let idx = new SqliteIndex(dir);
        await idx.set(ref, { messageId: '<m@x>', class: 'voicemail', voicemail: { mailbox: '1000', context: 'default' } });
        await idx.close();
        idx = new SqliteIndex(dir);
        expect(await idx.get(ref)).toEqual({ messageId: '<m@x>', class: 'voicemail', voicemail: { mailbox: '1000', context: 'default' } });
        await idx.delete(ref);
        expect(await idx.get(ref)).toBeUndefined();
        await idx.close();
    });

    it('keeps users apart whose joined keys would be equal', async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'vmb-index-'));
        dirs.push(dir);
        const idx = new SqliteIndex(dir);
        // "a" + 1:2:"3:4:INBOX" and "a:1:2" + 3:4:"INBOX" join to the same vmbridge:idx:a:1:2:3:4:INBOX.
        await idx.set({ user: 'a', uidValidity: 1, uid: 2, mailbox: '3:4:INBOX' }, { messageId: '<a>' });
        await idx.set({ user: 'a:1:2', uidValidity: 3, uid: 4, mailbox: 'INBOX' }, { messageId: '<b>' });
        expect(await idx.get({ user: 'a', uidValidity: 1, uid: 2, mailbox: '3:4:INBOX' })).toEqual({ messageId: '<a>' });
        expect(await idx.get({ user: 'a:1:2', uidValidity: 3, uid: 4, mailbox: 'INBOX' })).toEqual({ messageId: '<b>' });
        await idx.close();
    });

    it("a window's writes: read back at once, committed together at its end, kept across a restart", async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'vmb-index-'));
        dirs.push(dir);
        vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
        let idx = new SqliteIndex(dir);
        const ref = (uid: number) => ({ user: 'alice', mailbox: 'INBOX', uidValidity: 7, uid });
        const writes = Array.from({ length: 200 }, (_, i) => idx.set(ref(i + 1), { messageId: `<m${i + 1}@x>` }));
        void idx.delete(ref(3)); // set, then deleted in the same turn: gone
        void idx.set(ref(5), { messageId: '<again@x>' }); // the last write wins
        await Promise.all(writes);
        expect(await idx.get(ref(1))).toEqual({ messageId: '<m1@x>' });
        expect(await idx.get(ref(3))).toBeUndefined();
        expect(await idx.get(ref(5))).toEqual({ messageId: '<again@x>' });
        await tick();
        expect(committed(dir)).toBe(0); // the window is still open
        void idx.set(ref(201), { messageId: '<m201@x>' }); // a later turn, the same window
        await vi.advanceTimersByTimeAsync(INDEX_COMMIT_MS);
        expect(committed(dir)).toBe(200);
        void idx.set(ref(1000), { messageId: '<late@x>' }); // queued when the process stops: close() commits it
        await idx.close();
        idx = new SqliteIndex(dir);
        expect(await idx.get(ref(3))).toBeUndefined();
        expect(await idx.get(ref(5))).toEqual({ messageId: '<again@x>' });
        expect(await idx.get(ref(200))).toEqual({ messageId: '<m200@x>' });
        expect(await idx.get(ref(1000))).toEqual({ messageId: '<late@x>' });
        await idx.close();
    });

    it('drops the table state.db held before, and commits while another connection holds state.db', async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'vmb-index-'));
        dirs.push(dir);
        const old = new Database(path.join(dir, 'state.db'));
        old.exec('CREATE TABLE idx (user TEXT, mailbox TEXT, uv INTEGER, uid INTEGER, at INTEGER, entry TEXT)');
        old.close();
        const idx = new SqliteIndex(dir);
        const state = new Database(path.join(dir, 'state.db'));
        try {
            expect(state.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'idx'").get()).toEqual({ n: 0 });
            state.exec('BEGIN IMMEDIATE'); // a write lock, as an admin command's
            void idx.set({ user: 'carol', mailbox: 'INBOX', uidValidity: 1, uid: 1 }, { class: 'email' });
            await waitFor(() => committed(dir) === 1, 5000, 'the index committed');
        } finally {
            state.close();
            await idx.close();
        }
    });

    it('a long batch commits in slices of INDEX_BATCH_MAX as it goes', async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'vmb-index-'));
        dirs.push(dir);
        const idx = new SqliteIndex(dir);
        for (let i = 0; i < INDEX_BATCH_MAX + 10; i++) void idx.set({ user: 'bob', mailbox: 'INBOX', uidValidity: 1, uid: i + 1 }, { class: 'email' });
        expect(committed(dir)).toBe(INDEX_BATCH_MAX);
        await waitFor(() => committed(dir) === INDEX_BATCH_MAX + 10, 5000, 'the rest committed');
        await idx.close();
    });
});
