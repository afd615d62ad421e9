// DATA transparency: only line-initial dots are doubled, whatever the chunking; the terminator
// always sits on a line of its own.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DotStuffer } from '../../src/deliver/dot-stuff.js';

async function stuff(input: string, chunk: number): Promise<string> {
    const parts: Buffer[] = [];
    const buf = Buffer.from(input, 'latin1');
    for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
    const out: Buffer[] = [];
    for await (const c of Readable.from(parts).pipe(new DotStuffer())) out.push(c as Buffer);
    return Buffer.concat(out).toString('latin1');
}

describe('DotStuffer', () => {
    const cases: [string, string][] = [
        ['.a\r\nb.c\r\n..d\r\n.\r\n', '..a\r\nb.c\r\n...d\r\n..\r\n.\r\n'],
        ['lf\n.only\n', 'lf\n..only\n.\r\n'],
        ['no newline at end', 'no newline at end\r\n.\r\n'],
        ['ends with a dot line\r\n.', 'ends with a dot line\r\n..\r\n.\r\n'],
        ['', '.\r\n'],
        ['bare\rcr.\r\n', 'bare\rcr.\r\n.\r\n']
    ];
    for (const chunk of [1, 2, 3, 64]) {
        it(`stuffs and terminates (chunks of ${chunk})`, async () => {
            for (const [input, want] of cases) expect(await stuff(input, chunk)).toBe(want);
        });
    }
});
