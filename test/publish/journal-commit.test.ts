// The embedded journal's group commit: appends from many users at once commit and read back in
// order, an append resolves only once another connection sees its rows, close() commits what is
// in flight, a failed commit rejects the appends it held (never hangs), one turn is one commit.
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import type { VmEvent } from '../../src/events/event.js';
import { SqliteJournal } from '../../src/publish/journal-sqlite.js';
import { events, tempStateDirs, write } from './journal-fixture.js';

const stateDir = tempStateDirs('vmb-jcommit-');

/** A second connection, as another process would open it. */
function stored(dir: string, user: string): number[] {
    const db = new Database(path.join(dir, 'state.db'), { readonly: true });
    try {
        return (db.prepare('SELECT seq FROM journal WHERE user = ? ORDER BY seq').all(user) as { seq: number }[]).map(r => r.seq);
    } finally {
        db.close();
    }
}

describe('SqliteJournal group commit', () => {
    it('commits concurrent appends from many users and reads each back in order', async () => {
        const j = new SqliteJournal(stateDir());
        const users = Array.from({ length: 16 }, (_, i) => `u${i}`);
        const written = new Map<string, VmEvent[]>(users.map(u => [u, []]));
        // Each user appends in order (as the sequencer does); all users at once.
        await Promise.all(
            users.map(async u => {
                for (let k = 0; k < 10; k++) written.get(u)!.push(...(await write(j, u, 1 + (k % 3))));
            })
        );
        for (const u of users) {
            const evs = written.get(u)!;
            const r = await j.read(u, evs[0].seq! - 1);
            expect(r.gap).toBeUndefined();
            expect(r.events.map(e => e.id)).toEqual(evs.map(e => e.id));
        }
        await j.close();
    });

    it('resolves an append only once another connection reads its rows', async () => {
        const dir = stateDir();
        const j = new SqliteJournal(dir);
        for (let k = 0; k < 5; k++) {
            const evs = await write(j, 'alice', 2);
            expect(stored(dir, 'alice').slice(-2)).toEqual(evs.map(e => e.seq));
        }
        await j.close();
    });

    it("a read waits for the user's writes in flight: no reset for seqs still being written", async () => {
        const j = new SqliteJournal(stateDir());
        const before = await write(j, 'erin', 1);
        const first = await j.allocate('erin', 2);
        const writing = j.append(events('erin', first, 2));
        const read = await j.read('erin', before[0].seq!);
        await writing;
        expect(read.gap).toBeUndefined();
        expect(read.events.map(e => e.seq)).toEqual([first, first + 1]);
        await j.close();
    });

    it('close() commits the appends still in flight', async () => {
        const dir = stateDir();
        const j = new SqliteJournal(dir);
        const first = await j.allocate('bob', 50);
        const appends = Array.from({ length: 50 }, (_, i) => j.append(events('bob', first + i, 1)));
        await j.close();
        await expect(Promise.all(appends)).resolves.toBeDefined();
        expect(stored(dir, 'bob')).toEqual(Array.from({ length: 50 }, (_, i) => first + i));
        await expect(j.append(events('bob', first + 50, 1))).rejects.toThrow(/closed/);
    });

    it('a failed commit rejects its appends; the journal keeps working', async () => {
        const dir = stateDir();
        const j = new SqliteJournal(dir);
        await write(j, 'carol', 1);
        const db = new Database(path.join(dir, 'state.db'));
        db.exec('ALTER TABLE journal RENAME TO journal_away');
        await expect(write(j, 'carol', 1)).rejects.toThrow(/journal commit failed/);
        db.exec('ALTER TABLE journal_away RENAME TO journal');
        db.close();
        await write(j, 'carol', 1);
        await j.close();
    });

    it("one turn's appends, many users: one commit, each append resolved once its rows are committed", async () => {
        const dir = stateDir();
        const j = new SqliteJournal(dir);
        await write(j, 'warm', 1);
        const commits = vi.spyOn((j as unknown as { writes: { commitAll: () => void } }).writes, 'commitAll');
        const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
        const firsts = await Promise.all(users.map(u => j.allocate(u, 2)));
        await Promise.all(users.map((u, i) => j.append(events(u, firsts[i], 2))));
        expect(commits).toHaveBeenCalledTimes(1);
        users.forEach((u, i) => expect(stored(dir, u)).toEqual([firsts[i], firsts[i] + 1]));
        await j.close();
    });
});
