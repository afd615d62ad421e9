// A voicemail box's counts over IMAP, as app_voicemail's IMAP storage computes them
// (__messagecount): in the voicemail folder, HEADER X-Asterisk-VM-Extension <ext> HEADER
// X-Asterisk-VM-Context <ctx> UNDELETED; new = UNSEEN UNFLAGGED, urgent = UNSEEN FLAGGED,
// old = SEEN. Two departures, both deliberate: IMAP HEADER search is a substring match, so the
// header values are fetched and compared whole (1000 must not count 10001's messages); and
// greetings stored in the same folder never count. One SEARCH + one FETCH of the flags gives all
// three numbers from one snapshot instead of three searches.
import type { ImapFlow } from 'imapflow';
import { parseHeaders, first } from '../classify/headers.js';
import { GREETING_TYPES } from '../classify/greeting.js';
import type { VoicemailBox } from './boxes.js';
import type { ImapPool } from '../imap/pool.js';

export interface MwiCounts {
    /** Unread, urgent included (what phones show). */
    new: number;
    old: number;
    /** Unread and \Flagged. */
    urgent: number;
}

export const ZERO: MwiCounts = { new: 0, old: 0, urgent: 0 };

const FIELDS = ['x-asterisk-vm-extension', 'x-asterisk-vm-context', 'x-asterisk-vm-message-type'];

// Asterisk matches mailbox and context case-insensitively (strcasecmp in find_user).
const same = (value: string | undefined, want: string) => (value ?? '').trim().toLowerCase() === want.toLowerCase();

export async function countBox(client: ImapFlow, box: VoicemailBox): Promise<MwiCounts> {
    let lock;
    try {
        lock = await client.getMailboxLock(box.folder, { readOnly: true });
    } catch (err) {
        // A voicemail folder that does not exist yet holds no voicemail.
        const e = err as { serverResponseCode?: string; mailboxMissing?: boolean };
        if (e.mailboxMissing || e.serverResponseCode === 'NONEXISTENT') return { ...ZERO };
        throw err;
    }
    try {
        // A kept-open session sees other sessions' changes only after a sync.
        await client.noop();
        const uids = await client.search({ header: { 'X-Asterisk-VM-Extension': box.extension, 'X-Asterisk-VM-Context': box.context }, deleted: false }, { uid: true });
        if (uids === false || uids === undefined) throw new Error(`SEARCH failed in ${box.folder}`);
        const counts = { ...ZERO };
        if (!uids.length) return counts;
        for await (const m of client.fetch(uids, { uid: true, flags: true, headers: FIELDS }, { uid: true })) {
            const h = parseHeaders(m.headers ?? Buffer.alloc(0));
            if (!same(first(h, FIELDS[0]), box.extension) || !same(first(h, FIELDS[1]), box.context)) continue;
            if (GREETING_TYPES.has((first(h, FIELDS[2]) ?? '').trim().toLowerCase())) continue;
            const flags = m.flags ?? new Set<string>();
            if (flags.has('\\Deleted')) continue; // flagged between SEARCH and FETCH
            if (flags.has('\\Seen')) counts.old++;
            else {
                counts.new++;
                if (flags.has('\\Flagged')) counts.urgent++;
            }
        }
        return counts;
    } finally {
        lock.release();
    }
}

/** Counts boxes over pooled master-user sessions. */
export class ImapCounter {
    constructor(private readonly pool: ImapPool) {}

    count(box: VoicemailBox): Promise<MwiCounts> {
        return this.pool.with(box.user, client => countBox(client, box));
    }
}
