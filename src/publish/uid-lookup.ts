// OpenChange names a message `<uid>.eml`: a newmail that left the correlator without Dovecot's uid
// (its MessageNew came later than the join window, or never) gets the uid by Message-ID over
// --imap, bounded; and each stored copy is announced to OpenChange once, whichever path found its
// uid first (a late MessageNew may still bring a second newmail for the same copy).
import type { Logger } from '../log.js';
import type { ImapPool } from '../imap/pool.js';
import { bounded } from '../memcached/client.js';
import { UID_LOOKUP_SENT_MAX, UID_LOOKUP_TIMEOUT_MS } from '../limits.js';

export class UidLookup {
    constructor(
        private readonly pool: ImapPool,
        private readonly opts: { logger?: Logger; timeoutMs?: number } = {}
    ) {}

    /** The newest uid carrying this Message-ID in the mailbox (with the mailbox's UIDVALIDITY), or undefined. Never throws. */
    async find(user: string, mailbox: string, messageId: string): Promise<{ uid: number; uidValidity?: number } | undefined> {
        const search = this.pool.with(user, async client => {
            const lock = await client.getMailboxLock(mailbox, { readOnly: true });
            try {
                await client.noop(); // a pooled session learns of new uids only at a command boundary
                const uids = await client.search({ header: { 'message-id': messageId } }, { uid: true });
                const v = client.mailbox ? client.mailbox.uidValidity : undefined;
                return uids && uids.length ? { uid: Math.max(...uids), ...(v !== undefined ? { uidValidity: Number(v) } : {}) } : undefined;
            } finally {
                lock.release();
            }
        });
        try {
            return await bounded(search, this.opts.timeoutMs ?? UID_LOOKUP_TIMEOUT_MS);
        } catch (err) {
            search.catch(() => undefined);
            this.opts.logger?.warn({ err: (err as Error).message, user, mailbox }, 'uid lookup by Message-ID failed; OpenChange not notified');
            return undefined;
        }
    }
}

/** Remembers which copies OpenChange was told about (bounded, oldest forgotten first). */
export class SentCopies {
    private readonly seen = new Set<string>();

    /** True the first time for this copy (a mailbox recreated with a new UIDVALIDITY has new copies). */
    first(user: string, mailbox: string, uid: number, uidValidity?: number): boolean {
        const key = `${user}\0${mailbox}\0${uidValidity ?? ''}\0${uid}`;
        if (this.seen.has(key)) return false;
        this.seen.add(key);
        if (this.seen.size > UID_LOOKUP_SENT_MAX) this.seen.delete(this.seen.values().next().value as string);
        return true;
    }
}
