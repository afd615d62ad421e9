// Every SMTP/LMTP reply the bridge writes itself, named once. An SmtpError carries the reply code
// in `responseCode` (smtp-server's contract for errors thrown from its hooks) and the enhanced
// status (RFC 3463) at the head of its message, which smtp-server sends as written
// (smtp/enhanced-codes.ts). Replies relayed from Dovecot or a smart host keep their own codes.

/** A reply that carries its SMTP code and enhanced status, as smtp-server expects (responseCode). */
export class SmtpError extends Error {
    readonly responseCode: number;
    readonly enhanced: string;
    constructor(responseCode: number, enhanced: string, text: string) {
        super(`${enhanced} ${text}`);
        this.responseCode = responseCode;
        this.enhanced = enhanced;
        this.name = 'SmtpError';
    }
    get permanent(): boolean {
        return this.responseCode >= 500;
    }
}

/** 451 with a given enhanced status (default 4.4.0: downstream trouble). */
export const tempFail = (text: string, enhanced = '4.4.0') => new SmtpError(451, enhanced, text);
export const noUser = (text = 'User unknown') => new SmtpError(550, '5.1.1', text);

/** The catalogue: fixed texts, built fresh per use (an Error's stack is per throw). */
export const reply = {
    /** the transaction was abandoned (RSET, disconnect, oversized message) before the downstream stored it */
    aborted: () => tempFail('transaction aborted', '4.3.0'),
    /** draining for shutdown: new connections and transactions are refused */
    shuttingDown: () => new SmtpError(421, '4.3.2', 'Service shutting down, try again later'),
    /** the downstream gave no reply for a recipient */
    noReply: (what = 'no reply') => tempFail(what),
    downstreamUnavailable: (reason: string, enhanced = '4.4.0') => tempFail(`Downstream unavailable, try again later (${reason})`, enhanced),
    recipientMapUnavailable: () => new SmtpError(451, '4.4.3', 'Recipient map temporarily unavailable, try again later'),
    smartHostUnavailable: (response: string) => new SmtpError(451, '4.4.1', `Smart host unavailable: ${response}`),
    badRecipient: (why: string) => new SmtpError(550, '5.1.3', why),
    classRefused: (text: string) => new SmtpError(550, '5.7.1', `Message refused: ${text}`),
    connectionRefused: (text: string) => new SmtpError(554, '5.7.1', text),
    connectionLimit: (text: string) => new SmtpError(421, '4.7.0', text),
    tooManyAuthFailures: () => new SmtpError(421, '4.7.0', 'Too many failed authentications, try again later'),
    authUnavailable: () => new SmtpError(454, '4.7.0', 'Temporary authentication failure'),
    authInvalid: () => new SmtpError(535, '5.7.8', 'Authentication credentials invalid'),
    authzidRefused: () => new SmtpError(535, '5.7.8', 'Authorization identity not permitted'),
    authNotAvailable: () => new SmtpError(503, '5.5.1', 'AUTH not available'),
    encryptionRequired: () => new SmtpError(538, '5.7.11', 'Encryption required: issue STARTTLS first'),
    startTlsFirst: () => new SmtpError(530, '5.7.0', 'Must issue a STARTTLS command first'),
    authRequired: () => new SmtpError(530, '5.7.0', 'Authentication required'),
    senderNotOwned: (user: string) => new SmtpError(553, '5.7.1', `Sender address rejected: not owned by user ${user}`),
    needMail: () => new SmtpError(503, '5.5.1', 'Error: need MAIL command'),
    needRcpt: () => new SmtpError(503, '5.5.1', 'Error: need RCPT command')
} as const;
