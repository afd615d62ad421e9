// What the journal tests share: temp state directories removed after each test, and `delete`
// events of one user numbered from a seq.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import type { SqliteJournal } from '../../src/publish/journal-sqlite.js';

/** A fresh state directory per call, all removed after each test of the calling file. */
export function tempStateDirs(prefix: string): () => string {
    const dirs: string[] = [];
    afterEach(() => {
        while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
    });
    return () => {
        const d = mkdtempSync(path.join(tmpdir(), prefix));
        dirs.push(d);
        return d;
    };
}

export const events = (user: string, first: number, n: number): VmEvent[] =>
    Array.from({ length: n }, (_, i) => makeEvent({ id: `${user}-${first + i}`, type: 'delete', user, mailbox: 'INBOX', uid: i + 1, seq: first + i }));

/** Allocates n seqs for the user and appends their events; resolves with them once committed. */
export async function write(j: SqliteJournal, user: string, n: number): Promise<VmEvent[]> {
    const evs = events(user, await j.allocate(user, n), n);
    await j.append(evs);
    return evs;
}
