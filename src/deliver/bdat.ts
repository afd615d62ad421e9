// BDAT (RFC 3030 CHUNKING) framing of a message body: the bytes go as they are (no dot-stuffing,
// no terminator to scan for), in chunks of at least BDAT_CHUNK_MIN so a body read in small pieces
// does not cost a command and a reply per piece. What is left at the end is held back to go with
// `BDAT n LAST`: a small message is then one command and one send. `rest` is set only by _flush,
// i.e. only when the source ended intact — a broken source never yields a LAST.
import { Transform, type TransformCallback } from 'node:stream';
import { BDAT_CHUNK_MIN } from '../limits.js';

export class BdatChunker extends Transform {
    /** The bytes for `BDAT n LAST`, once the source ended intact; undefined until then. */
    rest?: Buffer;
    private held: Buffer[] = [];
    private heldLen = 0;

    constructor(private readonly min = BDAT_CHUNK_MIN) {
        super();
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        if (this.heldLen === 0 && chunk.length >= this.min) return cb(null, chunk); // no copy
        this.held.push(chunk);
        this.heldLen += chunk.length;
        if (this.heldLen >= this.min) this.push(this.collect());
        cb();
    }

    override _flush(cb: TransformCallback): void {
        this.rest = this.collect();
        cb();
    }

    private collect(): Buffer {
        const out = this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.heldLen);
        this.held = [];
        this.heldLen = 0;
        return out;
    }
}

/** The command line that announces a chunk. */
export function bdatLine(size: number, last: boolean): string {
    return last ? `BDAT ${size} LAST\r\n` : `BDAT ${size}\r\n`;
}
