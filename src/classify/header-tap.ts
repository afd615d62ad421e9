// Passes message bytes through unchanged while capturing the header block (up to the first empty
// line, or a cap), so classification reads headers from the stream without buffering bodies.
import { Transform, type TransformCallback } from 'node:stream';

export const MAX_HEADER_BYTES = 256 * 1024;

export class HeaderTap extends Transform {
    /** Resolves with the header block (without the blank line) once it is complete, capped, or the stream ends. */
    readonly header: Promise<Buffer>;
    bytes = 0;
    private chunks: Buffer[] = [];
    private captured = 0;
    private done = false;
    private resolveHeader!: (b: Buffer) => void;

    constructor(private readonly maxHeaderBytes = MAX_HEADER_BYTES) {
        super();
        this.header = new Promise(resolve => (this.resolveHeader = resolve));
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        this.bytes += chunk.length;
        if (!this.done) this.scan(chunk);
        cb(null, chunk);
    }

    override _flush(cb: TransformCallback): void {
        this.finish(Buffer.concat(this.chunks));
        cb();
    }

    override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
        this.finish(Buffer.concat(this.chunks));
        cb(err);
    }

    private scan(chunk: Buffer): void {
        // Look for the blank line across the chunk seam: keep up to 3 bytes of the previous chunk.
        const prev = this.chunks.length ? this.chunks[this.chunks.length - 1] : Buffer.alloc(0);
        const tail = prev.subarray(Math.max(0, prev.length - 3));
        const window = tail.length ? Buffer.concat([tail, chunk]) : chunk;
        const end = findHeaderEnd(window, this.captured === 0);
        if (end >= 0) {
            const take = end - tail.length; // bytes of this chunk that belong to the header
            this.chunks.push(chunk.subarray(0, Math.max(0, take)));
            const all = Buffer.concat(this.chunks);
            this.finish(take < 0 ? all.subarray(0, all.length + take) : all);
            return;
        }
        const room = this.maxHeaderBytes - this.captured;
        this.chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        this.captured += Math.min(chunk.length, room);
        if (this.captured >= this.maxHeaderBytes) this.finish(Buffer.concat(this.chunks));
    }

    private finish(header: Buffer): void {
        if (this.done) return;
        this.done = true;
        this.chunks = [];
        this.resolveHeader(header);
    }
}

/** Index where the header block ends (before the blank line), or -1. Accepts CRLF and bare LF. */
export function findHeaderEnd(buf: Buffer, atStart: boolean): number {
    if (atStart && (buf[0] === 0x0a || (buf[0] === 0x0d && buf[1] === 0x0a))) return 0;
    for (let i = buf.indexOf(0x0a); i >= 0 && i < buf.length - 1; i = buf.indexOf(0x0a, i + 1)) {
        const n = buf[i + 1];
        if (n === 0x0a) return i + (buf[i - 1] === 0x0d ? -1 : 0);
        if (n === 0x0d && buf[i + 2] === 0x0a) return i + (buf[i - 1] === 0x0d ? -1 : 0);
    }
    return -1;
}
