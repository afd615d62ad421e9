// Streaming MIME part scanner: follows boundary lines through a multipart body and records each
// leaf part's type, name and size, keeping only counters and a short line head in memory. It
// exists so voicemail audio and fax attachments are found in the same single pass that delivers
// the message — mailparser would decode (and buffer) every attachment to tell us three fields.
import { contentType, first, parseHeaders, parseParams } from './headers.js';
import { MIME_MAX_PARTS, MIME_MAX_DEPTH, MIME_MAX_PART_HEADER } from '../limits.js';

export interface PartInfo {
    /** As written, e.g. `audio/x-WAV`; text/plain when the part has no Content-Type. */
    contentType: string;
    /** Content-Disposition filename, else the Content-Type name parameter. */
    name?: string;
    description?: string;
    /** VPIM's Content-Disposition `voice` parameter (Voice-Message, Originator-Spoken-Name, ...). */
    voice?: string;
    /** RFC 3803 Content-Duration (seconds), as VPIM audio parts carry it. */
    durationSec?: number;
    /** Decoded bytes for base64 parts; bytes as transferred otherwise. */
    size: number;
}

const LINE_HEAD = 256; // longer than any boundary line (boundary ≤ 70 chars + dashes + spaces)

interface OpenPart {
    info: PartInfo;
    base64: boolean;
    /** Body bytes (with line ends) or, for base64, significant characters. */
    count: number;
    padding: number;
    lastEol: number;
}

export class MimeScanner {
    readonly parts: PartInfo[] = [];
    private readonly boundaries: string[] = [];
    private state: 'skip' | 'headers' | 'body' = 'skip';
    private part?: OpenPart;
    private header: Buffer[] = [];
    private headerLen = 0;
    private lineHead: Buffer[] = [];
    private lineHeadLen = 0;
    private lineLen = 0;
    private lineEq = 0; // '=' in a base64 line: padding, counted once the line proves not a boundary
    private done = false;

    constructor(boundary: string) {
        this.boundaries.push(boundary);
    }

    push(chunk: Buffer): void {
        let start = 0;
        while (!this.done && start < chunk.length) {
            if (this.state === 'body' && this.lineLen === 0) {
                const to = this.bodyLines(chunk, start);
                if (to > start) {
                    start = to;
                    continue;
                }
            }
            const nl = chunk.indexOf(0x0a, start);
            const end = nl < 0 ? chunk.length : nl + 1;
            this.take(chunk.subarray(start, end));
            if (nl >= 0) this.line();
            start = end;
        }
    }

    /** Ends the scan (a truncated body closes whatever part is open) and returns the leaf parts. */
    end(): PartInfo[] {
        if (!this.done) {
            if (this.lineLen > 0) this.line();
            this.closePart();
            this.done = true;
        }
        return this.parts;
    }

    /**
     * Counts the complete body lines from `start` (at a line start) that cannot be boundaries — not
     * starting with '-' — without copying them line by line (a 640 KB base64 voicemail is 8,000
     * lines); returns where it stopped: a line starting with '-', or an incomplete last line,
     * which the line-by-line path takes.
     */
    private bodyLines(chunk: Buffer, start: number): number {
        const p = this.part;
        if (!p) return start;
        let pos = start;
        while (pos < chunk.length && chunk[pos] !== 0x2d) {
            const nl = chunk.indexOf(0x0a, pos);
            if (nl < 0) break;
            const eol = nl > pos && chunk[nl - 1] === 0x0d ? 2 : 1;
            const len = nl + 1 - pos;
            p.count += p.base64 ? len - eol : len;
            p.lastEol = eol;
            pos = nl + 1;
        }
        if (p.base64) for (let i = chunk.indexOf(0x3d, start); i >= 0 && i < pos; i = chunk.indexOf(0x3d, i + 1)) p.padding++;
        return pos;
    }

    /** Accumulates a piece of the current line: a bounded head, headers when in a part header. */
    private take(seg: Buffer): void {
        if (this.lineHeadLen < LINE_HEAD) {
            const piece = seg.subarray(0, LINE_HEAD - this.lineHeadLen);
            this.lineHead.push(piece);
            this.lineHeadLen += piece.length;
        }
        this.lineLen += seg.length;
        if (this.state === 'headers' && this.headerLen < MIME_MAX_PART_HEADER) {
            const piece = seg.subarray(0, MIME_MAX_PART_HEADER - this.headerLen);
            this.header.push(piece);
            this.headerLen += piece.length;
        }
        if (this.state === 'body' && this.part?.base64) {
            for (let i = seg.indexOf(0x3d); i >= 0; i = seg.indexOf(0x3d, i + 1)) this.lineEq++;
        }
    }

    /** A complete line: a boundary, the end of a part header, or body bytes to count. */
    private line(): void {
        const head = this.lineHead.length === 1 ? this.lineHead[0] : Buffer.concat(this.lineHead);
        const len = this.lineLen;
        const eq = this.lineEq;
        this.lineHead = [];
        this.lineHeadLen = 0;
        this.lineLen = 0;
        this.lineEq = 0;
        const eol = head[len - 1] === 0x0a ? (head[len - 2] === 0x0d ? 2 : 1) : 0;
        if (len <= LINE_HEAD && head[0] === 0x2d && head[1] === 0x2d && this.boundary(head)) return;
        if (this.state === 'headers') {
            if (len - eol === 0) this.openBody();
        } else if (this.state === 'body' && this.part) {
            const p = this.part;
            p.count += p.base64 ? len - eol : len;
            p.padding += eq;
            p.lastEol = eol;
        }
    }

    private boundary(head: Buffer): boolean {
        const text = head.toString('latin1').replace(/[\r\n \t]+$/, '');
        for (let depth = this.boundaries.length - 1; depth >= 0; depth--) {
            const b = '--' + this.boundaries[depth];
            if (text !== b && text !== b + '--') continue;
            this.closePart();
            this.boundaries.length = text === b ? depth + 1 : depth;
            this.state = text === b ? 'headers' : 'skip';
            if (this.boundaries.length === 0 || this.parts.length >= MIME_MAX_PARTS) this.done = true;
            return true;
        }
        return false;
    }

    /** The blank line after a part's header: a nested multipart pushes its boundary, a leaf is counted. */
    private openBody(): void {
        const h = parseHeaders(Buffer.concat(this.header));
        this.header = [];
        this.headerLen = 0;
        const ct = contentType(h);
        if (/^multipart\//i.test(ct.value) && ct.params.boundary) {
            if (this.boundaries.length < MIME_MAX_DEPTH) this.boundaries.push(ct.params.boundary);
            this.state = 'skip';
            return;
        }
        const disposition = parseParams(first(h, 'content-disposition') ?? '').params;
        const name = disposition.filename || ct.params.name || undefined;
        const description = first(h, 'content-description') || undefined;
        const duration = first(h, 'content-duration');
        const info: PartInfo = { contentType: ct.value || 'text/plain', size: 0 };
        if (name) info.name = name;
        if (description) info.description = description;
        if (disposition.voice) info.voice = disposition.voice;
        if (duration && /^\d+$/.test(duration.trim())) info.durationSec = Number(duration.trim());
        this.part = { info, base64: /^base64$/i.test((first(h, 'content-transfer-encoding') ?? '').trim()), count: 0, padding: 0, lastEol: 0 };
        this.state = 'body';
    }

    private closePart(): void {
        if (this.state === 'headers' && this.headerLen > 0) this.openBody(); // header never ended: an empty part
        const p = this.part;
        this.part = undefined;
        if (!p) return;
        // The line end before a boundary belongs to the boundary (RFC 2046 §5.1.1).
        p.info.size = p.base64 ? Math.max(0, Math.floor(((p.count - p.padding) * 3) / 4)) : Math.max(0, p.count - p.lastEol);
        this.parts.push(p.info);
    }
}
