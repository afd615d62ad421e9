// HeaderTap is on the delivery path: whatever the chunking, the bytes out are the bytes in, and
// the header and MIME parts it reports do not depend on where the chunk seams fall.
import { describe, expect, it } from 'vitest';
import { findHeaderEnd, HeaderTap } from '../../src/classify/header-tap.js';
import { cut, loadCorpus, tapChunks } from './tap-helpers.js';

const corpus = loadCorpus();

describe('HeaderTap', () => {
    it('passes every corpus message through unchanged with a seam at every position', async () => {
        for (const f of corpus) {
            const whole = await tapChunks([f.eml]);
            for (let i = 0; i <= f.eml.length; i++) {
                const r = await tapChunks(cut(f.eml, [i]));
                if (!r.out.equals(f.eml) || !r.header.equals(whole.header)) throw new Error(`${f.name}: seam at ${i} changed bytes or header`);
                expect(r.parts, `${f.name}: seam at ${i}`).toEqual(whole.parts);
            }
        }
    });

    it('gives the same result for one-byte chunks', async () => {
        for (const f of corpus) {
            const whole = await tapChunks([f.eml]);
            const bytes = await tapChunks(cut(f.eml, Array.from({ length: f.eml.length }, (_, i) => i + 1).slice(0, -1)));
            expect(bytes.out.equals(f.eml), f.name).toBe(true);
            expect({ header: bytes.header, parts: bytes.parts }, f.name).toEqual({ header: whole.header, parts: whole.parts });
        }
    });

    it('captures the header without the blank line, for CRLF, LF and mixed endings', async () => {
        for (const [msg, header] of [
            ['A: 1\r\nB: 2\r\n\r\nbody', 'A: 1\r\nB: 2'],
            ['A: 1\nB: 2\n\nbody', 'A: 1\nB: 2'],
            ['A: 1\nB: 2\r\n\nbody', 'A: 1\nB: 2'],
            ['A: 1\r\nB: 2\n\r\nbody', 'A: 1\r\nB: 2'],
            ['\r\nno header', ''],
            ['\nno header', ''],
            ['A: only a header', 'A: only a header'],
            ['', '']
        ]) {
            const r = await tapChunks([Buffer.from(msg)]);
            expect(r.header.toString(), JSON.stringify(msg)).toBe(header);
            expect(r.out.toString()).toBe(msg);
        }
    });

    it('stops capturing at the cap and still passes everything through', async () => {
        const msg = Buffer.concat([Buffer.from('X-Long: '), Buffer.alloc(5000, 0x61), Buffer.from('\r\n\r\nbody')]);
        const r = await tapChunks(cut(msg, [100, 2000, 4000]), { maxHeaderBytes: 1024 });
        expect(r.header.length).toBe(1024);
        expect(r.out.equals(msg)).toBe(true);
        expect(r.parts).toEqual([]);
    });

    it('never lets a failing classifier stop the bytes', async () => {
        const f = corpus.find(c => c.name === 'asterisk-imap-crlf')!;
        const r = await tapChunks(cut(f.eml, [10, 900]), {
            scanParts: () => {
                throw new Error('boom');
            }
        });
        expect(r.out.equals(f.eml)).toBe(true);
        expect(r.parts).toEqual([]);
    });

    it('resolves header and parts when the stream is destroyed mid-message', async () => {
        const f = corpus.find(c => c.name === 'asterisk-imap-crlf')!;
        const tap = new HeaderTap();
        tap.resume();
        tap.write(f.eml.subarray(0, 1500));
        tap.destroy();
        expect((await tap.header).length).toBeGreaterThan(0);
        expect((await tap.parts).map(p => p.contentType)).toEqual(['text/plain', 'audio/x-wav']);
    });

    it('sizes base64 parts decoded and other parts as transferred (the CRLF before a boundary excluded)', async () => {
        const msg = Buffer.from(
            'Content-Type: multipart/mixed; boundary="b=1"\r\n\r\npreamble\r\n--b=1\r\nContent-Type: text/plain\r\n\r\nhello\r\nworld\r\n--b=1\r\n' +
                'Content-Type: audio/wav\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\nQQ==\r\n--b=1  \r\nContent-Type: text/x-empty\r\n\r\n--b=1--\r\nepilogue\r\n--b=1\r\nnot a part\r\n'
        );
        const r = await tapChunks([msg], { scanParts: () => 'b=1' });
        expect(r.parts).toEqual([
            { contentType: 'text/plain', size: 12 },
            { contentType: 'audio/wav', size: 4 },
            { contentType: 'text/x-empty', size: 0 }
        ]);
    });
});

describe('findHeaderEnd', () => {
    it('reports where the header ends and the body starts, or null while the blank line is missing', () => {
        expect(findHeaderEnd(Buffer.from('A: 1\r\n\r\nB'))).toEqual({ end: 4, body: 8 });
        expect(findHeaderEnd(Buffer.from('A: 1\n\nB'))).toEqual({ end: 4, body: 6 });
        expect(findHeaderEnd(Buffer.from('A: 1\r\n\r'))).toBeNull();
        expect(findHeaderEnd(Buffer.from('A: 1\r\n'))).toBeNull();
        expect(findHeaderEnd(Buffer.from('\r'))).toBeNull();
    });
});
