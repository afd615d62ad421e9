// smtp-server 3.21 reads a DATA body with a JavaScript loop over every byte (SMTPStream's
// _feedDataStream), waits a setImmediate after each dot it unescapes, and copies every read to
// put the 4 bytes it held back from the previous one in front: for a 200 KB voicemail, 200,000
// iterations and 200 KB copied per message. This replacement finds the line-initial dots with a
// native indexOf, unescapes them in one pass, and reads the held bytes and the new read as one
// sequence without joining them. The rules are the original's, unchanged: the body ends only at
// CRLF "." CRLF (or "." CRLF right at its start); a "." that follows LF and precedes "." is
// dropped; the last 4 bytes of a read wait for the next one, so a terminator split across reads is
// still found; bytes are counted through _countDataBytes (size limit, start-of-data state) and the
// last write of a read waits for the data stream to drain. Installed once by intake/server.ts.
// It replaces a private method, so package.json pins smtp-server to the exact version it was
// written for; test/intake/data-unstuff.test.ts compares it with the original at every cut, so an
// upgrade is checked before it lands.
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

const LF_DOT = Buffer.from('\n.');
const DOT = 0x2e;
const CR = 0x0d;
const LF = 0x0a;
const EMPTY = Buffer.alloc(0);
let patched = false;

export function fastDataUnstuff(): void {
    if (patched) return;
    patched = true;
    SMTPStream.prototype._feedDataStream = feed;
}

function feed(this: SMTPStream, input: Buffer, done: (err?: Error | null) => void): void {
    const dataStream = this._dataStream!;
    // the bytes held from the last read (h) and this read (c) form one sequence x = h + c
    let h = this._lastBytes || EMPTY;
    let c = input;
    this._lastBytes = false;
    if (h.length > 0 && (this._atDataStart || c.length < 4)) {
        c = Buffer.concat([h, c]); // rare or small: the start of the body, a tiny read
        h = EMPTY;
    }
    // the body may end before it began (".\r\n" first), or start with an escaped dot
    if (this._atDataStart && c.length >= 3 && c[0] === DOT && c[1] === CR && c[2] === LF) {
        this._endDataMode(false, c.subarray(3), done);
        return;
    }
    if (this._atDataStart && c.length >= 2 && c[0] === DOT && c[1] === DOT) {
        c = c.subarray(1);
        this._atDataStart = false;
    }
    const l = h.length;
    const len = l + c.length;
    const at = (k: number) => (k < l ? h[k] : c[k - l]);
    /** x[a, b) as at most two views, h's part and c's part. */
    const parts = (a: number, b: number): Buffer[] => {
        const out: Buffer[] = [];
        if (a < l && a < b) out.push(h.subarray(a, Math.min(b, l)));
        if (b > l && b > a) out.push(c.subarray(Math.max(a - l, 0), b - l));
        return out;
    };
    let from = 0;
    // a dot at i (i ≥ 2, i < len - 2: the bounds of the original loop) right after an LF;
    // returns true when the body ended there
    const dot = (i: number): boolean => {
        if (at(i - 2) === CR && at(i + 1) === CR && at(i + 2) === LF) {
            const last = parts(from, i); // with the CRLF that ends the last line
            this._countDataBytes(i - from);
            if (last.length === 2 && dataStream.writable) dataStream.write(last[0]);
            this._endDataMode(last[last.length - 1] ?? false, c.subarray(i + 3 - l), done);
            return true;
        }
        if (at(i + 1) === DOT) {
            this._countDataBytes(i - from);
            for (const p of parts(from, i)) if (dataStream.writable) dataStream.write(p);
            from = i + 1; // the second dot is content
        }
        return false;
    };
    // dots whose LF is among the held bytes or the first byte of this read, then the rest
    for (let i = 2; i < Math.min(l + 2, len - 2); i++) if (at(i - 1) === LF && at(i) === DOT && dot(i)) return;
    for (let lf = c.indexOf(LF_DOT, 1); lf >= 0 && lf + 1 + l < len - 2; lf = c.indexOf(LF_DOT, lf + 1)) if (dot(lf + 1 + l)) return;
    // the last 4 bytes wait for the next read (they lie in c: c has 4 or more bytes, or h is empty)
    const keep = Math.min(4, len - from);
    this._lastBytes = c.subarray(c.length - keep);
    const out = parts(from, len - keep);
    if (out.length === 0) return done();
    this._countDataBytes(len - keep - from);
    let ok = true;
    for (const p of out) ok = dataStream.writable ? dataStream.write(p) : true;
    if (ok || dataStream.destroyed) return done();
    // a stream that the application destroys never drains, it only closes
    const onDrain = () => {
        dataStream.removeListener('drain', onDrain);
        dataStream.removeListener('close', onDrain);
        done();
    };
    dataStream.once('drain', onDrain);
    dataStream.once('close', onDrain);
}
