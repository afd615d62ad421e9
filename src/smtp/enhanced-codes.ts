// smtp-server derives the enhanced status code from the reply code alone (451 → 4.3.0,
// 554 → 5.6.0), so Dovecot's own "550 5.1.1" or our "554 5.7.1" would lose their meaning or be
// doubled. No option exists for it: smtp-server 3.21 sends a hook's error as
// `send(err.responseCode, err.message)` with no context, reads no enhanced code from the error, and
// hideENHANCEDSTATUSCODES is all-or-nothing. This one wrapper, installed once by intake/server.ts,
// lets a reply text that already starts with an enhanced code of the same class (every SmtpError of
// smtp/replies.ts) go out as written; everything else keeps smtp-server's mapping.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const ENHANCED = /^([245])\.\d{1,3}\.\d{1,3} /;
let patched = false;

export function keepEnhancedCodes(): void {
    if (patched) return;
    patched = true;
    const proto = SMTPConnection.prototype as unknown as { send(code: number, data?: unknown, context?: unknown): void };
    const send = proto.send;
    proto.send = function (this: unknown, code: number, data?: unknown, context?: unknown) {
        const m = typeof data === 'string' ? ENHANCED.exec(data) : null;
        return send.call(this, code, data, m && m[1] === String(code)[0] ? false : context);
    };
}
