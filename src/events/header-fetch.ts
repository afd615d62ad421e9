// Classifies messages the bridge did not deliver itself (Asterisk APPENDs voicemail over IMAP;
// Postfix may run dovecot-lda directly) by fetching their header block over IMAP as the master
// user. BODY.PEEK, so nothing is marked read; one FETCH per mailbox for uids that arrive together.
import { classify, type Classification } from '../classify/classify.js';
import type { Logger } from '../log.js';
import type { ImapPool } from '../imap/pool.js';

export class HeaderFetcher {
    constructor(
        private readonly pool: ImapPool,
        private readonly log: Logger
    ) {}

    /** Classification per uid; uids that could not be fetched are absent. */
    async classify(user: string, mailbox: string, uids: number[]): Promise<Map<number, Classification>> {
        const out = new Map<number, Classification>();
        if (!uids.length) return out;
        try {
            await this.pool.with(user, async client => {
                const lock = await client.getMailboxLock(mailbox, { readOnly: true });
                try {
                    await client.noop(); // a pooled session learns of new uids only at a command boundary
                    for await (const m of client.fetch(uids.join(','), { uid: true, headers: true }, { uid: true })) {
                        if (m.headers) out.set(m.uid, classify(m.headers));
                    }
                } finally {
                    lock.release();
                }
            });
        } catch (err) {
            this.log.warn({ err: (err as Error).message, user, mailbox }, 'header fetch failed; events go out without class');
        }
        return out;
    }

    /** Dovecot's uid of a message by its Message-ID (the newest copy not in `taken`), when the hook did not report it. */
    async findUid(user: string, mailbox: string, messageId: string, taken: ReadonlySet<number> = new Set()): Promise<{ uid: number; uidValidity: number } | undefined> {
        try {
            return await this.pool.with(user, async client => {
                const lock = await client.getMailboxLock(mailbox, { readOnly: true });
                try {
                    await client.noop();
                    const uids = (await client.search({ header: { 'message-id': messageId } }, { uid: true })) || [];
                    const uid = uids.filter(u => !taken.has(u)).sort((a, b) => b - a)[0];
                    const validity = client.mailbox ? Number(client.mailbox.uidValidity) : 0;
                    return uid && validity ? { uid, uidValidity: validity } : undefined;
                } finally {
                    lock.release();
                }
            });
        } catch (err) {
            this.log.warn({ err: (err as Error).message, user, mailbox }, 'uid lookup failed; newmail goes out without uid');
            return undefined;
        }
    }
}
