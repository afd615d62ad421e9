// The embedded journal commits without an fsync each; what a crash may take back decides what the
// next start does. Killed (SIGKILL, a real child process) and started again in the same boot:
// nothing lost, every seq continues, a replay crosses the restart without a reset. Killed, then
// the machine rebooted (another boot id): the last commits may be lost, so every seq jumps above
// anything given out and an older cursor gets a reset — a seq never names two events. A clean
// close leaves nothing to fear, reboot or not.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/publish/journal.js';
import { createJournalStore } from '../../src/publish/front.js';
import type { Logger } from '../../src/log.js';
import { SqliteJournal } from '../../src/publish/journal-sqlite.js';
import { tempStateDirs, write } from './journal-fixture.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const stateDir = tempStateDirs('vmb-jboot-');

// A bridge that journals 5 events for alice (each append awaited: committed), prints their seqs,
// and is killed before it could close anything (the compiled build, as serve runs).
const CHILD = `
const [dir, boot] = process.argv.slice(1);
const { SqliteJournal } = await import(${JSON.stringify(path.join(ROOT, 'dist/publish/journal-sqlite.js'))});
const { makeEvent } = await import(${JSON.stringify(path.join(ROOT, 'dist/events/event.js'))});
const j = new SqliteJournal(dir, { bootId: boot });
const seqs = [];
for (let k = 0; k < 5; k++) {
    const seq = await j.allocate('alice', 1);
    await j.append([makeEvent({ id: 'alice-' + seq, type: 'delete', user: 'alice', mailbox: 'INBOX', uid: k + 1, seq })]);
    seqs.push(seq);
}
process.stdout.write(JSON.stringify(seqs) + '\\n', () => process.kill(process.pid, 'SIGKILL'));
`;

/** Runs the child above against `dir` as boot `boot`; the seqs it had committed when killed. */
function killedAfterWriting(dir: string, boot: string): number[] {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, dir, boot], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal, r.stderr).toBe('SIGKILL');
    return JSON.parse(r.stdout) as number[];
}

describe('SqliteJournal across a crash', () => {
    it('killed and started again in the same boot: every seq continues, a replay crosses the restart without a reset', async () => {
        const dir = stateDir();
        const seqs = killedAfterWriting(dir, 'boot-1');
        const j = new SqliteJournal(dir, { bootId: 'boot-1' });
        expect(j.jumpedTo).toBeUndefined();
        const after = await write(j, 'alice', 2);
        expect(after[0].seq).toBe(seqs[4] + 1);
        const answer = await replay(j, 'alice', seqs[1]);
        expect(answer.map(e => e.seq)).toEqual([...seqs.slice(2), after[0].seq, after[1].seq]);
        await j.close();
    });

    it('killed, then a reboot: every seq jumps above anything given out, an older cursor gets a reset and then the new events', async () => {
        const dir = stateDir();
        const seqs = killedAfterWriting(dir, 'boot-1');
        const j = new SqliteJournal(dir, { bootId: 'boot-2' });
        expect(j.jumpedTo).toBeGreaterThan(seqs[4] + 1_000_000);
        const fresh = await write(j, 'alice', 2);
        const other = await write(j, 'bob', 1); // a user the store had not seen: above the jump too
        expect(fresh[0].seq).toBe(j.jumpedTo! + 1);
        expect(other[0].seq).toBe(j.jumpedTo! + 1);
        const answer = await replay(j, 'alice', seqs[4]);
        expect(answer[0]).toMatchObject({ type: 'reset', reason: 'cursor-too-old', seq: j.jumpedTo });
        expect(answer.slice(1).map(e => e.id)).toEqual(fresh.map(e => e.id));
        await j.close();
        // Started again after that clean stop: no second jump.
        const again = new SqliteJournal(dir, { bootId: 'boot-3' });
        expect(again.jumpedTo).toBeUndefined();
        expect((await write(again, 'alice', 1))[0].seq).toBe(fresh[1].seq! + 1);
        await again.close();
    });

    it('serve warns when it starts a journal that jumped', async () => {
        const dir = stateDir();
        killedAfterWriting(dir, "another boot, not this machine's");
        const warnings: unknown[][] = [];
        const log = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
        const j = createJournalStore(
            { resolver: { kind: 'memory' }, stateDir: dir, journalRetention: 3600, journalMax: 1000 } as Parameters<typeof createJournalStore>[0],
            log
        ) as SqliteJournal;
        expect(j.jumpedTo).toBeDefined();
        expect(warnings).toEqual([[{ seq: j.jumpedTo }, expect.stringMatching(/unclean.*rebooted.*reset/)]]);
        await j.close();
    });

    it('a boot id that cannot be read counts as a reboot after an unclean stop', async () => {
        const dir = stateDir();
        const seqs = killedAfterWriting(dir, '');
        const j = new SqliteJournal(dir, { bootId: '' });
        expect(j.jumpedTo).toBeGreaterThan(seqs[4]);
        await j.close();
    });

    it('closed cleanly, then a reboot: every seq continues, a replay crosses the restart without a reset', async () => {
        const dir = stateDir();
        let j = new SqliteJournal(dir, { bootId: 'boot-1' });
        const before = await write(j, 'carol', 3);
        await j.close();
        j = new SqliteJournal(dir, { bootId: 'boot-2' });
        expect(j.jumpedTo).toBeUndefined();
        const after = await write(j, 'carol', 1);
        expect(after[0].seq).toBe(before[2].seq! + 1);
        expect((await replay(j, 'carol', before[0].seq!)).map(e => e.id)).toEqual([...before.slice(1), ...after].map(e => e.id));
        await j.close();
    });
});
