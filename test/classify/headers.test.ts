// Lenient decoding: RFC 2047 and RFC 2231 as mail clients and PBXes write them, and no input —
// however broken — makes header parsing or classification throw.
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/classify/classify.js';
import { first, parseHeaders, parseParams } from '../../src/classify/headers.js';
import { loadCorpus, randomChunks, rng, tapChunks } from './tap-helpers.js';

describe('header decoding', () => {
    it('joins adjacent encoded words, also a UTF-8 character split across two', () => {
        const h = parseHeaders(Buffer.from('Subject: =?UTF-8?B?Wm/D?=\r\n =?UTF-8?B?q0ggTcO8bGxlcg==?= <5551234>\r\nX-A: a =?utf-8?q?b?= c'));
        expect(first(h, 'subject')).toBe('ZoëH Müller <5551234>');
        expect(first(h, 'x-a')).toBe('a b c');
    });

    it('keeps repeated fields in order and empty values as empty', () => {
        const h = parseHeaders(Buffer.from('Received: one\nReceived: two\n\tfolded\nX-Empty:\nX-Blank:   \n'));
        expect(h.get('received')).toEqual(['one', 'two folded']);
        expect(h.get('x-empty')).toEqual(['']);
        expect(h.get('x-blank')).toEqual(['']);
    });

    it('parses parameters with quotes, escapes, RFC 2231 continuations and charsets', () => {
        expect(parseParams('audio/x-WAV; name="msg0000.WAV"')).toEqual({ value: 'audio/x-WAV', params: { name: 'msg0000.WAV' } });
        expect(parseParams('attachment; filename="a;b \\"c\\".wav"; size=3').params).toEqual({ filename: 'a;b "c".wav', size: '3' });
        expect(parseParams("attachment; filename*0*=iso-8859-1''Zo%EB; filename*1=.wav").params.filename).toBe('Zoë.wav');
        expect(parseParams('multipart/mixed; boundary="unterminated').params.boundary).toBe('unterminated');
        expect(parseParams('').value).toBe('');
    });
});

describe('never a crash', () => {
    it('classifies random bytes and mangled corpus messages without throwing, passing bytes through', async () => {
        const rand = rng(42);
        const corpus = loadCorpus();
        const alphabet = Buffer.from('\r\n\t :;="-=?BQ_abcXx/\x00\xff\xc3\xab');
        for (let n = 0; n < 300; n++) {
            const base = corpus[n % corpus.length].eml;
            const msg = Buffer.from(base);
            // overwrite a few random bytes with characters that matter to the parsers
            for (let k = 0; k < 1 + Math.floor(rand() * 20); k++) msg[Math.floor(rand() * msg.length)] = alphabet[Math.floor(rand() * alphabet.length)];
            const cutAt = Math.floor(rand() * msg.length);
            const mangled = n % 3 === 0 ? msg.subarray(0, cutAt) : msg; // truncated too
            const r = await tapChunks(randomChunks(mangled, rand, 200));
            expect(r.out.equals(mangled)).toBe(true);
            expect(() => classify(r.header, r.parts)).not.toThrow();
        }
    });
});
