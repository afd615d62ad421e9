// Folder names for OpenChange payloads: what the hook reported wins; modified UTF-7 of the vname
// otherwise; the separator from the hook, else from IMAP NAMESPACE, else '.'.
import { describe, expect, it } from 'vitest';
import { BatchSchema } from '../../src/hook/batch.js';
import { FolderNames, toModifiedUtf7 } from '../../src/publish/folders.js';
import type { ImapPool } from '../../src/imap/pool.js';

describe('toModifiedUtf7 (RFC 3501 5.1.3)', () => {
    it.each([
        ['INBOX', 'INBOX'],
        ['Ärger', '&AMQ-rger'],
        ['Ärger/Büro', '&AMQ-rger/B&APw-ro'],
        ['R&D', 'R&-D'],
        ['日本語', '&ZeVnLIqe-'],
        ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-']
    ])('%s → %s', (input, out) => expect(toModifiedUtf7(input)).toBe(out));
});

describe('FolderNames', () => {
    const batch = (events: unknown[]) => BatchSchema.parse({ proc: 'p', seq: 1, user: 'alice', session: 's', events });

    it('uses what the hook reported, per user and mailbox', async () => {
        const f = new FolderNames();
        f.learn(batch([{ name: 'MessageAppend', mailbox: 'Calls/Sub', uid: 1, uid_validity: 1, storage_name: 'Calls.Sub', storage_sep: '.' }]));
        expect(await f.resolve('alice', 'Calls/Sub')).toEqual({ folder: 'Calls.Sub', separator: '.' });
        expect(await f.resolve('bob', 'Calls/Sub')).toEqual({ folder: 'Calls/Sub', separator: '.' });
    });

    it('an odd storage field never costs the batch, it is just not used', () => {
        const b = batch([{ name: 'MessageNew', mailbox: 'INBOX', uid: 1, uid_validity: 1, storage_name: 'INBOX', storage_sep: '' }]);
        expect(b.events[0]).toMatchObject({ storage_name: 'INBOX', storage_sep: undefined });
    });

    it('without a reported separator, takes the namespace one from IMAP (longest prefix), once per user', async () => {
        let logins = 0;
        const imap = {
            with: async (_user: string, fn: (c: unknown) => Promise<unknown>) => {
                logins++;
                return fn({ namespaces: { personal: [{ prefix: '', delimiter: '/' }], other: false, shared: [{ prefix: 'shared.', delimiter: '.' }] } });
            }
        } as unknown as ImapPool;
        const f = new FolderNames({ imap });
        f.learn(batch([{ name: 'MessageNew', mailbox: 'INBOX', uid: 1, uid_validity: 1, storage_name: 'INBOX' }]));
        expect(await f.resolve('alice', 'INBOX')).toEqual({ folder: 'INBOX', separator: '/' });
        expect(await f.resolve('alice', 'shared.x')).toEqual({ folder: 'shared.x', separator: '.' });
        expect(logins).toBe(1);
        expect(await new FolderNames().resolve('alice', 'INBOX')).toEqual({ folder: 'INBOX', separator: '.' });
    });
});
