// SMTP/LMTP DATA transparency (RFC 5321 4.5.2): a '.' at the start of a line is doubled, and the
// body is terminated by "." on a line of its own. Every other byte passes unchanged, so Dovecot
// stores exactly what the MTA sent (CRLF or LF alike).
import { Transform, type TransformCallback } from 'node:stream';

const DOT = 0x2e;
const LF = 0x0a;

export class DotStuffer extends Transform {
    /** True once the terminating "." was emitted: only a complete body may end DATA. */
    terminated = false;
    private atLineStart = true;

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        let from = 0;
        for (let i = 0; i < chunk.length; i++) {
            if (this.atLineStart && chunk[i] === DOT) {
                // emit up to and including this dot, then let it be emitted again with the rest
                this.push(chunk.subarray(from, i + 1));
                from = i;
            }
            this.atLineStart = chunk[i] === LF;
        }
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
