// One Deliverer interface for every onward target (lmtp.ts, lda.ts, maildir.ts). Intake opens a
// transaction at MAIL FROM, adds recipients as RCPT arrives (so an LMTP downstream can refuse
// unknown users live), then streams DATA once; the result is one outcome per accepted recipient.
import type { Readable } from 'node:stream';

// The reply type lives with the reply catalogue; re-exported here because every deliverer returns it.
import type { SmtpError } from '../smtp/replies.js';
export { SmtpError, tempFail, noUser } from '../smtp/replies.js';

export interface Envelope {
    /** MAIL FROM address ('' for the null sender). */
    from: string;
    /** The MTA-facing session id, used in logs and event ids. */
    sessionId: string;
}

export interface Recipient {
    /** The RCPT TO address as the MTA gave it. */
    address: string;
    /** Dovecot username (after --username-format and recipient mapping). */
    user: string;
}

/** What the downstream did with one recipient's copy (mailbox: where it went, when the deliverer knows). */
export type Outcome = { ok: true; text: string; downstreamId?: string; mailbox?: string } | { ok: false; error: SmtpError };

export interface DeliveryTransaction {
    /** Resolves when the downstream accepts the recipient; rejects with SmtpError otherwise. */
    addRecipient(rcpt: Recipient): Promise<void>;
    /**
     * Streams the message once to every accepted recipient. Resolves with one Outcome per
     * accepted recipient, in addRecipient order. Never rejects: failures are Outcomes.
     */
    data(message: Readable): Promise<Outcome[]>;
    /** Abandons the transaction (client RSET, disconnect, oversized message). Idempotent. */
    abort(): void;
}

export interface Deliverer {
    readonly target: string;
    begin(envelope: Envelope): Promise<DeliveryTransaction>;
    close(): Promise<void>;
}
