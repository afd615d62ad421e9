// SMTP/LMTP DATA transparency (RFC 5321 4.5.2): a '.' at the start of a line is doubled, and the
// body is terminated by "." on a line of its own. Every other byte passes unchanged, so Dovecot
// stores exactly what the MTA sent (CRLF or LF alike).
import { Transform, type TransformCallback } from 'node:stream';

const DOT = 0x2e;
const LF = 0x0a;
const LF_DOT = Buffer.from('\n.');

export class DotStuffer extends Transform {
    /** True once the terminating "." was emitted: only a complete body may end DATA. */
    terminated = false;
    private atLineStart = true;

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        // indexOf finds the line starts in native code: a per-byte loop in JS cost more than the
        // rest of the relay for large (voicemail-sized) bodies
        let from = 0;
        if (this.atLineStart && chunk[0] === DOT) {
            this.push(chunk.subarray(0, 1)); // the dot goes out twice: here and with the rest
        }
        for (let i = chunk.indexOf(LF_DOT); i >= 0; i = chunk.indexOf(LF_DOT, i + 1)) {
            this.push(chunk.subarray(from, i + 2));
            from = i + 1;
        }
        if (chunk.length > 0) this.atLineStart = chunk[chunk.length - 1] === LF;
        if (from < chunk.length) this.push(chunk.subarray(from));
        cb();
    }

    override _flush(cb: TransformCallback): void {
        // the terminator needs a line of its own: close an unterminated last line with CRLF
        this.push(this.atLineStart ? '.\r\n' : '\r\n.\r\n');
        this.terminated = true;
        cb();
    }
}
