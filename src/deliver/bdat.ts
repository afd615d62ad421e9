// BDAT (RFC 3030 CHUNKING) framing of a message body: the bytes go as they are (no dot-stuffing,
// no terminator to scan for), grouped into chunks of at least BDAT_CHUNK_MIN so a body read in
// pieces does not cost a command, a reply and a wake-up of Dovecot per read. A chunk is the list of
// the pieces read (written with its BDAT line as one send, never copied together). What is left at
// the end is held back to go with `BDAT n LAST`: a small message is then one command and one send.
// `rest` is set only by _flush, i.e. only when the source ended intact — a broken source never
// yields a LAST.
import { Transform, type TransformCallback } from 'node:stream';
import { BDAT_CHUNK_MIN } from '../limits.js';

export class BdatChunker extends Transform {
    /** The pieces for `BDAT n LAST`, once the source ended intact; undefined until then. */
    rest?: Buffer[];
    private held: Buffer[] = [];
    private heldLen = 0;

    constructor(private readonly min = BDAT_CHUNK_MIN) {
        super({ readableObjectMode: true });
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        this.held.push(chunk);
        this.heldLen += chunk.length;
        if (this.heldLen >= this.min) this.push(this.collect());
        cb();
    }

    override _flush(cb: TransformCallback): void {
        this.rest = this.collect();
        cb();
    }

    private collect(): Buffer[] {
        const out = this.held;
        this.held = [];
        this.heldLen = 0;
        return out;
    }
}

/** The command line that announces a chunk of these pieces. */
export function bdatLine(pieces: Buffer[], last: boolean): string {
    let size = 0;
    for (const p of pieces) size += p.length;
    return last ? `BDAT ${size} LAST\r\n` : `BDAT ${size}\r\n`;
}
