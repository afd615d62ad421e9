// The `ox` payload: what Dovecot's OX push driver (push-notification-driver-ox.c) sends to OX App
// Suite for each new message, so an OX site can point its push URL at vmbridge instead. One PUT
// per newmail with JSON {user, event: "messageNew", folder, imap-uidvalidity, imap-uid, from,
// subject, unseen}; from/subject (decoded From and Subject headers) and unseen (the folder's
// UNSEEN count) are read over IMAP like the driver reads them from the mail, and are left out when
// IMAP cannot answer (the driver omits them likewise). Credentials: the URL's userinfo, as Basic auth.
import type { NewmailEvent } from '../events/event.js';
import type { ImapPool } from '../imap/pool.js';

export type OxPayload = Record<string, string | number>;

export async function oxPayload(ev: NewmailEvent, imap?: ImapPool): Promise<OxPayload | undefined> {
    // OX fetches the message by uid: a newmail without one cannot be announced.
    if (ev.uid === undefined || ev.uidValidity === undefined) return undefined;
    const folder = ev.mailbox ?? 'INBOX';
    const out: OxPayload = { user: ev.user, event: 'messageNew', folder, 'imap-uidvalidity': ev.uidValidity, 'imap-uid': ev.uid };
    if (!imap) return out;
    await imap
        .with(ev.user, async client => {
            const status = await client.status(folder, { unseen: true });
            const lock = await client.getMailboxLock(folder, { readOnly: true });
            try {
                const m = await client.fetchOne(String(ev.uid), { envelope: true }, { uid: true });
                const from = m && m.envelope?.from?.[0];
                if (from) out.from = from.name ? `${from.name} <${from.address}>` : (from.address ?? '');
                if (m && m.envelope?.subject !== undefined) out.subject = m.envelope.subject;
            } finally {
                lock.release();
            }
            if (status && status.unseen !== undefined) out.unseen = status.unseen;
        })
        .catch(() => undefined);
    return out;
}
