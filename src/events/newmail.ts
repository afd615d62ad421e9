// newmail from a delivery the bridge made: one event per stored copy, with Dovecot's uid when its
// hook reported the MessageNew (events/correlate.ts joins the two).
import type { DeliveryRecord } from './delivery.js';
import { makeEvent, type NewmailEvent } from './event.js';

/** Dovecot's MessageNew fields, when the hook reported them for this copy. */
export interface StoredAt {
    mailbox?: string;
    uid?: number;
    uidValidity?: number;
}

export function newmailEvent(rec: DeliveryRecord, at: StoredAt = {}): NewmailEvent {
    const c = rec.classification;
    return makeEvent({
        // Stable for a given copy: Dovecot's LMTP session id when known, else ours.
        id: `nm.${rec.downstreamId ?? rec.sessionId}.${rec.rcptIndex}`,
        type: 'newmail',
        user: rec.user,
        mailbox: at.mailbox ?? rec.mailbox ?? 'INBOX',
        uid: at.uid,
        uidValidity: at.uidValidity,
        messageId: c.messageId,
        class: c.class,
        voicemail: c.voicemail
    });
}
