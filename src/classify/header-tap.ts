// Passes message bytes through unchanged while capturing the header block (up to the first empty
// line, or a cap), so classification reads headers from the stream without buffering bodies.
// When the header says the body's MIME parts matter (voicemail audio, fax attachments), the rest
// of the stream also feeds a MimeScanner, which keeps counters only — never the body.
import { Transform, type TransformCallback } from 'node:stream';
import { scanBoundary } from './classify.js';
import { MimeScanner, type PartInfo } from './mime-scan.js';
import { MAX_HEADER_BYTES, HEADER_BUFFER_INITIAL } from '../limits.js';

export interface HeaderTapOptions {
    maxHeaderBytes?: number;
    /** The top-level boundary to scan parts under, or undefined to stop at the header (default: classify's choice). */
    scanParts?: (header: Buffer) => string | undefined;
}

export class HeaderTap extends Transform {
    /** Resolves with the header block (without the blank line) once it is complete, capped, or the stream ends. */
    readonly header: Promise<Buffer>;
    /** Resolves at the end of the stream with the leaf MIME parts ([] when the body was not scanned). */
    readonly parts: Promise<PartInfo[]>;
    bytes = 0;
    private buf = Buffer.alloc(0);
    private len = 0;
    private searched = 0;
    private headerDone = false;
    private scanner?: MimeScanner;
    private readonly maxHeaderBytes: number;
    private readonly scanParts: (header: Buffer) => string | undefined;
    private resolveHeader!: (b: Buffer) => void;
    private resolveParts!: (p: PartInfo[]) => void;

    constructor(opts: HeaderTapOptions = {}) {
        super();
        this.maxHeaderBytes = opts.maxHeaderBytes ?? MAX_HEADER_BYTES;
        this.scanParts = opts.scanParts ?? scanBoundary;
        this.header = new Promise(resolve => (this.resolveHeader = resolve));
        this.parts = new Promise(resolve => (this.resolveParts = resolve));
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        this.bytes += chunk.length;
        // Classification is best effort: whatever goes wrong in it, the bytes flow on untouched.
        try {
            if (!this.headerDone) this.scanHeader(chunk);
            else this.scanner?.push(chunk);
        } catch {
            this.stopScanning();
        }
        cb(null, chunk);
    }

    override _flush(cb: TransformCallback): void {
        this.finish();
        cb();
    }

    override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
        this.finish();
        cb(err);
    }

    private scanHeader(chunk: Buffer): void {
        const before = this.len;
        this.append(chunk.subarray(0, this.maxHeaderBytes - this.len));
        const found = findHeaderEnd(this.buf.subarray(0, this.len), Math.max(0, this.searched - 3));
        this.searched = this.len;
        if (found) {
            this.endHeader(Buffer.from(this.buf.subarray(0, found.end)));
            const bodyAt = found.body - before;
            if (bodyAt < chunk.length) this.scanner?.push(chunk.subarray(bodyAt));
        } else if (this.len >= this.maxHeaderBytes) {
            this.headerDone = true; // capped: the body's start is unknown, so its parts are not scanned
            this.resolveHeader(Buffer.from(this.buf.subarray(0, this.len)));
            this.buf = Buffer.alloc(0);
        }
    }

    /** Grows the capture buffer geometrically (tiny chunks must not make header capture quadratic). */
    private append(piece: Buffer): void {
        if (this.len + piece.length > this.buf.length) {
            const next = Buffer.alloc(Math.min(this.maxHeaderBytes, Math.max(HEADER_BUFFER_INITIAL, (this.len + piece.length) * 2)));
            this.buf.copy(next, 0, 0, this.len);
            this.buf = next;
        }
        piece.copy(this.buf, this.len);
        this.len += piece.length;
    }

    private endHeader(header: Buffer): void {
        this.headerDone = true;
        this.buf = Buffer.alloc(0);
        this.resolveHeader(header);
        let boundary: string | undefined;
        try {
            boundary = this.scanParts(header);
        } catch {
            boundary = undefined;
        }
        if (boundary) this.scanner = new MimeScanner(boundary);
    }

    private stopScanning(): void {
        if (!this.headerDone) this.endHeader(Buffer.from(this.buf.subarray(0, this.len)));
        this.scanner = undefined;
    }

    private finish(): void {
        if (!this.headerDone) {
            // No blank line: the whole (short) message is header; nothing after it to scan.
            this.headerDone = true;
            this.resolveHeader(Buffer.from(this.buf.subarray(0, this.len)));
            this.buf = Buffer.alloc(0);
        }
        let parts: PartInfo[] = [];
        try {
            parts = this.scanner?.end() ?? [];
        } catch {
            parts = this.scanner?.parts ?? [];
        }
        this.scanner = undefined;
        this.resolveParts(parts);
    }
}

/**
 * Where the header block ends (`end`, before the blank line) and the body starts (`body`),
 * searching from `from`; null while the blank line has not arrived. Accepts CRLF and bare LF,
 * and an empty header block (a message that starts with a blank line).
 */
export function findHeaderEnd(buf: Buffer, from = 0): { end: number; body: number } | null {
    if (buf[0] === 0x0a) return { end: 0, body: 1 };
    if (buf[0] === 0x0d && buf[1] === 0x0a) return { end: 0, body: 2 };
    for (let i = buf.indexOf(0x0a, from); i >= 0; i = buf.indexOf(0x0a, i + 1)) {
        const end = i - (buf[i - 1] === 0x0d ? 1 : 0);
        if (buf[i + 1] === 0x0a) return { end, body: i + 2 };
        if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { end, body: i + 3 };
    }
    return null;
}
