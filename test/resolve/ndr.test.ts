// The NDR codec against the byte layouts of facts-openchange.md, written out by hand here.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeNotification, decodeResolverValue, encodeNotification, encodeResolverValue, MAPI } from '../../src/wire/ndr.js';

// The documented 22-byte example: 01 02 00 'sogo' 00 '42.eml' 00 'INBOX' 00 2e
const EXAMPLE_PAYLOAD = Buffer.from([0x01, 0x02, 0x00, 0x73, 0x6f, 0x67, 0x6f, 0x00, 0x34, 0x32, 0x2e, 0x65, 0x6d, 0x6c, 0x00, 0x49, 0x4e, 0x42, 0x4f, 0x58, 0x00, 0x2e]);

function handResolverValue(urls: string[]): Buffer {
    const bytes = [0x01];
    const u32 = (n: number) => bytes.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
    u32(urls.length); // max_count
    u32(urls.length); // count
    for (const u of urls) bytes.push(...[...u].map(c => c.charCodeAt(0)), 0);
    return Buffer.from(bytes);
}

describe('NDR notification payload', () => {
    it('encodes the documented 22-byte newmail example exactly', () => {
        const buf = encodeNotification({ flags: MAPI.NewMail, backend: 'sogo', eml: '42.eml', folder: 'INBOX', separator: '.' });
        expect(buf.length).toBe(22);
        expect(buf.equals(EXAMPLE_PAYLOAD)).toBe(true);
    });

    it('decodes the example, including an empty folder (INBOX in some OpenChange versions)', () => {
        expect(decodeNotification(EXAMPLE_PAYLOAD)).toEqual({
            ok: true,
            value: { flags: 2, backend: 'sogo', eml: '42.eml', folder: 'INBOX', separator: '.' }
        });
        const empty = Buffer.from([0x01, 0x10, 0x00, 0x73, 0x00, 0x31, 0x00, 0x00, 0x2f]);
        expect(decodeNotification(empty)).toEqual({ ok: true, value: { flags: 0x10, backend: 's', eml: '1', folder: '', separator: '/' } });
    });
});

describe('NDR resolver value', () => {
    it('decodes a hand-built record and encodes the same bytes', () => {
        const urls = ['tcp://192.0.2.10:5555', 'ipc:///tmp/oc.sock'];
        const bytes = handResolverValue(urls);
        expect(decodeResolverValue(bytes)).toEqual({ ok: true, value: urls });
        expect(encodeResolverValue(urls).equals(bytes)).toBe(true);
    });

    it('turns garbage into an error result, never an exception', () => {
        const cases = [
            Buffer.alloc(0),
            Buffer.from([0x02, 1, 0, 0, 0, 1, 0, 0, 0, 0x41, 0]), // version 2
            Buffer.from([0x01, 1, 0, 0, 0, 2, 0, 0, 0, 0x41, 0]), // count > max_count
            Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // absurd count
            Buffer.from([0x01, 1, 0, 0, 0, 1, 0, 0, 0, 0x41, 0x42]) // no NUL
        ];
        for (const c of cases) {
            expect(decodeResolverValue(c).ok).toBe(false);
            expect(decodeNotification(c).ok).toBe(false);
        }
        for (let i = 0; i < 2000; i++) {
            const junk = randomBytes(i % 64);
            expect(() => decodeResolverValue(junk)).not.toThrow();
            expect(() => decodeNotification(junk)).not.toThrow();
        }
    });
});
