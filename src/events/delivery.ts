// What intake tells the event side about a delivery it makes: expected (DATA ended, downstream
// not yet answered) and then stored or failed, per recipient. The newmail event is built from
// the stored record, joined with Dovecot's MessageNew when the Dovecot hook reports it.
import type { Classification } from '../classify/classify.js';

export interface DeliveryRecord {
    /** Intake session id (ours) and the recipient index: unique per recipient copy. */
    sessionId: string;
    rcptIndex: number;
    rcpt: string;
    user: string;
    from: string;
    classification: Classification;
    size: number;
    /** Dovecot's LMTP session id from its `250 ... <id> Saved` reply, when the target is LMTP. */
    downstreamId?: string;
    /** Mailbox the copy was stored in when the deliverer knows it (maildir, lda: INBOX). */
    mailbox?: string;
}

export interface DeliveryObserver {
    /** DATA complete; the downstream is about to commit. Lets the event side wait for MessageNew. */
    expect(rec: DeliveryRecord): void;
    /** The downstream stored this recipient's copy (the MTA gets 250). */
    stored(rec: DeliveryRecord): void;
    /** Not stored (the MTA gets 4xx/5xx): forget the expectation. */
    failed(rec: DeliveryRecord): void;
}
