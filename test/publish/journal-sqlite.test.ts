// The embedded journal in the state directory (SQLite): it survives a reopen, bounds events per
// user and in total, never hands out a row naming another user, and a new store (state lost)
// numbers above the old one so an older cursor gets a reset.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { replay } from '../../src/publish/journal.js';
import { SqliteJournal } from '../../src/publish/journal-sqlite.js';

const dirs: string[] = [];
const stateDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'vmb-journal-'));
    dirs.push(d);
    return d;
};
afterEach(() => {
    vi.useRealTimers();
    while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

async function write(j: SqliteJournal, user: string, n: number): Promise<VmEvent[]> {
    const first = await j.allocate(user, n);
    const evs = Array.from({ length: n }, (_, i) => makeEvent({ id: `${user}-${first + i}`, type: 'delete', user, mailbox: 'INBOX', uid: i + 1, seq: first + i }));
    await j.append(evs);
    return evs;
}

describe('SqliteJournal', () => {
    it('continues seqs and replays across a reopen', async () => {
        const dir = stateDir();
        let j = new SqliteJournal(dir);
        const before = await write(j, 'alice', 3);
        await j.close();
        j = new SqliteJournal(dir);
        const after = await write(j, 'alice', 2);
        expect(after[0].seq).toBe(before[2].seq! + 1);
        expect((await j.read('alice', before[0].seq!)).events.map(e => e.id)).toEqual([...before.slice(1), ...after].map(e => e.id));
        await j.close();
    });

    it('a read while a later seq is allocated but not yet written replays what is written, without a reset', async () => {
        const j = new SqliteJournal(stateDir());
        const first = await write(j, 'alice', 3);
        const next = await j.allocate('alice', 1); // a newer event on its way, not written yet
        const r = await j.read('alice', first[0].seq! - 1);
        expect(r.gap).toBeUndefined();
        expect(r.current).toBe(first[2].seq);
        expect(r.events.map(e => e.id)).toEqual(first.map(e => e.id));
        await j.append([makeEvent({ id: 'late', type: 'delete', user: 'alice', mailbox: 'INBOX', uid: 9, seq: next })]);
        expect((await j.read('alice', first[2].seq!)).events.map(e => e.id)).toEqual(['late']);
        await j.close();
    });

    it('keeps at most maxCount events per user: an older cursor gets a reset', async () => {
        const j = new SqliteJournal(stateDir(), { maxCount: 5 });
        const evs = await write(j, 'bob', 12);
        expect((await j.read('bob', evs[6].seq!)).events).toHaveLength(5);
        const [reset] = await replay(j, 'bob', evs[2].seq!);
        expect(reset).toMatchObject({ type: 'reset', reason: 'cursor-too-old', seq: evs[11].seq });
        await j.close();
    });

    it('keeps at most maxTotal events over all users (oldest go first) and reads in limited pages', async () => {
        vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
        const dir = stateDir();
        const j = new SqliteJournal(dir, { maxTotal: 10 });
        const a = await write(j, 'a', 8);
        const b = await write(j, 'b', 8);
        expect((await j.read('b', b[0].seq! - 1, 3)).events.map(e => e.id)).toEqual(b.slice(0, 3).map(e => e.id));
        await vi.advanceTimersByTimeAsync(60_000); // the sweep
        const db = new Database(path.join(dir, 'state.db'), { readonly: true });
        expect((db.prepare('SELECT count(*) AS n FROM journal').get() as { n: number }).n).toBe(10);
        db.close();
        expect((await j.read('a', a[0].seq! - 1)).gap).toBe('cursor-too-old');
        expect((await j.read('b', b[0].seq! - 1)).events).toHaveLength(8);
        await j.close();
    });

    it('never hands out a row whose event names another user', async () => {
        const dir = stateDir();
        const j = new SqliteJournal(dir);
        const evs = await write(j, 'carol', 2);
        const db = new Database(path.join(dir, 'state.db'));
        const other = JSON.stringify({ ...evs[1], user: 'mallory', id: 'forged' });
        db.prepare('UPDATE journal SET ev = ? WHERE user = ? AND seq = ?').run(other, 'carol', evs[1].seq);
        db.close();
        const r = await j.read('carol', evs[0].seq!);
        expect(r.events).toEqual([]);
        expect(r.gap).toBe('cursor-too-old');
        await j.close();
    });

    it('a lost store starts above the old numbers: an older cursor gets a reset, not the new events', async () => {
        const dir = stateDir();
        let j = new SqliteJournal(dir);
        const old = await write(j, 'dave', 3);
        await j.close();
        rmSync(dir, { recursive: true, force: true });
        vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 1 });
        j = new SqliteJournal(dir);
        const fresh = await write(j, 'dave', 2);
        expect(fresh[0].seq).toBeGreaterThan(old[2].seq!);
        const answer = await replay(j, 'dave', old[1].seq!);
        // A reset to the new store's start, then everything it has: nothing skipped silently.
        expect(answer[0]).toMatchObject({ type: 'reset', reason: 'cursor-too-old', seq: fresh[0].seq! - 1 });
        expect(answer.slice(1).map(e => e.id)).toEqual(fresh.map(e => e.id));
        await j.close();
    });

    it('appends a 70,000-event batch in slices, letting the event loop run meanwhile', async () => {
        const j = new SqliteJournal(stateDir(), { maxCount: 100_000 });
        const first = await j.allocate('big', 70_000);
        const evs = Array.from({ length: 70_000 }, (_, i) => makeEvent({ id: `b${i}`, type: 'delete', user: 'big', mailbox: 'INBOX', uid: i + 1, seq: first + i }));
        let ticks = 0;
        let done = false;
        const tick = (): void => {
            ticks++;
            if (!done) setImmediate(tick);
        };
        setImmediate(tick);
        await j.append(evs);
        done = true;
        expect(ticks).toBeGreaterThan(10); // ≥ one per 1,000-event slice
        expect((await j.read('big', first + 69_990)).events).toHaveLength(9);
        await j.close();
    });
});
