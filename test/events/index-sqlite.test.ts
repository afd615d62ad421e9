// The embedded uid index in the state directory: it survives a reopen (a restart keeps class,
// voicemail and Message-ID for later events), and names that would collide as joined strings
// stay apart (the key is the columns themselves).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteIndex } from '../../src/events/index-sqlite.js';

const dirs: string[] = [];
afterEach(() => {
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
});
