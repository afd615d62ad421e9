// newmail from a delivery the bridge made. Without Dovecot's hook (maildir target, no
// push_notification) this is the whole story: one event per stored copy, right after the reply.
import type { DeliveryObserver, DeliveryRecord } from './delivery.js';
import { makeEvent, type VmEvent } from './event.js';
import type { EventSink } from './sink.js';

/** Dovecot's MessageNew fields, when the hook reported them for this copy. */
export interface StoredAt {
    mailbox?: string;
    uid?: number;
    uidValidity?: number;
}

export function newmailEvent(rec: DeliveryRecord, at: StoredAt = {}): VmEvent {
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

export class DirectNewmail implements DeliveryObserver {
    constructor(private readonly out: EventSink) {}
    expect(): void {}
    failed(): void {}
    stored(rec: DeliveryRecord): void {
        this.out.emit(newmailEvent(rec));
    }
}
