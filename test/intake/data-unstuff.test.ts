// The native-indexOf DATA reader (src/smtp/data-unstuff.ts) against smtp-server's own, on the
// same inputs cut into the same reads: message bytes, where the body ends, the commands after it
// and the byte count must be identical — for dot lines, escaped dots, terminators split across
// reads, bare LF, a body that ends at once, and random bodies made mostly of dots and line ends.
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { describe, expect, it } from 'vitest';
import { fastDataUnstuff } from '../../src/smtp/data-unstuff.js';

const original = SMTPStream.prototype._feedDataStream;
fastDataUnstuff();
const patched = SMTPStream.prototype._feedDataStream;

interface Result {
    body: string;
    ended: boolean;
    commands: string[];
    dataBytes: number;
}

/** Feeds `input` in reads of the given sizes to a parser in data mode. */
async function run(feed: typeof original, input: Buffer, cuts: number[]): Promise<Result> {
    const parser = new SMTPStream();
    parser._feedDataStream = feed;
    const commands: string[] = [];
    parser.oncommand = (line, cb) => {
        commands.push(line.toString('latin1'));
        cb?.();
    };
    const data = parser.startDataMode();
    const out: Buffer[] = [];
    let ended = false;
    data.on('data', (c: Buffer) => out.push(c));
    data.on('end', () => {
        ended = true;
        parser.continue();
    });
    let pos = 0;
    for (const n of [...cuts, input.length]) {
        if (pos >= input.length) break;
        const piece = input.subarray(pos, Math.min(input.length, pos + Math.max(1, n)));
        pos += piece.length;
        await new Promise<void>(resolve => parser.write(piece, () => resolve()));
    }
    await new Promise<void>(resolve => setImmediate(resolve));
    await new Promise<void>(resolve => setImmediate(resolve));
    return { body: Buffer.concat(out).toString('latin1'), ended, commands, dataBytes: parser.dataBytes };
}

const cases = [
    'Subject: a\r\n\r\nbody\r\n.\r\nQUIT\r\n',
    '.\r\nRSET\r\n',
    '..\r\n.\r\nNOOP\r\n',
    '..leading\r\n..\r\n...three\r\n.x\r\n\r\n.\r\n',
    'bare\n..lf dot\n.\r\nline\r\n.\r\nNOOP\r\n',
    'no terminator yet \r\n..',
    '\r\n.\r\n',
    'a\r\n.\r\n.\r\nNOOP\r\n',
    'x\r\n..\r\n..\r\n.\r\nNOOP\r\nNOOP\r\n'
];

describe('DATA reader with indexOf', () => {
    for (const text of cases) {
        it(`reads ${JSON.stringify(text)} as smtp-server does, for every cut`, async () => {
            const input = Buffer.from(text, 'latin1');
            for (let a = 1; a <= input.length; a++) {
                for (const b of [1, 2, 3, 5, input.length]) {
                    const cuts = [a, b, 1, 2, 3, 4];
                    expect(await run(patched, input, cuts)).toEqual(await run(original, input, cuts));
                }
            }
        });
    }

    it('random dot-heavy bodies, random reads', async () => {
        let seed = 42;
        const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
        const alphabet = ['.', '.', '\r\n', '\n', 'a', '\r'];
        for (let k = 0; k < 300; k++) {
            const body = Array.from({ length: 5 + rand(60) }, () => alphabet[rand(alphabet.length)]).join('');
            const input = Buffer.from(body + '\r\n.\r\nNOOP\r\n', 'latin1');
            const cuts = Array.from({ length: 8 }, () => 1 + rand(12));
            expect(await run(patched, input, cuts)).toEqual(await run(original, input, cuts));
        }
    });

    it('a large body in 64 KB reads', async () => {
        const line = 'x'.repeat(75) + '\r\n';
        const body = Array.from({ length: 3000 }, (_, i) => (i % 97 === 0 ? '..' : '') + line).join('');
        const input = Buffer.from(body + '.\r\n', 'latin1');
        const got = await run(patched, input, [65536, 65536, 65536]);
        expect(got).toEqual(await run(original, input, [65536, 65536, 65536]));
        expect(got.ended).toBe(true);
        expect(got.body).toBe(body.replace(/^\.\./gm, '.'));
    });
});

it('passes a read on as views of it, not copies (the held 4 bytes are not joined to the next read)', async () => {
    fastDataUnstuff();
    const parser = new SMTPStream();
    parser.oncommand = (_line, cb) => cb?.();
    const data = parser.startDataMode();
    const out: Buffer[] = [];
    data.on('data', (c: Buffer) => out.push(c));
    data.on('end', () => parser.continue());
    const reads = [Buffer.alloc(65536, 'a'), Buffer.alloc(65536, 'b'), Buffer.from('tail\r\n.\r\n')];
    reads[0].write('Subject: x\r\n\r\n');
    for (const r of reads) await new Promise<void>(resolve => parser.write(r, () => resolve()));
    const second = out.filter(c => c[c.length - 1] === 0x62 && c.length > 1000);
    expect(second).toHaveLength(1);
    expect(second[0].buffer).toBe(reads[1].buffer); // a view of the read itself
    expect(Buffer.concat(out).length).toBe(65536 * 2 + 6);
});
