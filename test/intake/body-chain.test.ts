// chainBody (intake/body-chain.ts): the message flows source → guard → tap; a source that fails
// or closes before its end destroys the tap with an error (the downstream never ends a truncated
// message) and reports it once; a source that ends normally reports nothing.
import { PassThrough, Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { expect, it } from 'vitest';
import { chainBody } from '../../src/intake/body-chain.js';

const chain = () => {
    const source = new PassThrough();
    const guard = new PassThrough();
    const tap = new Transform({ transform: (c, _e, cb) => cb(null, c) });
    let broken = 0;
    chainBody(source, guard, tap, () => broken++);
    const out: Buffer[] = [];
    tap.on('data', (c: Buffer) => out.push(c));
    return { source, tap, out, broken: () => broken };
};

it('passes the message through and reports nothing when it ends', async () => {
    const c = chain();
    c.source.write('Subject: a\r\n\r\n');
    c.source.end('body\r\n');
    await finished(c.tap);
    expect(Buffer.concat(c.out).toString()).toBe('Subject: a\r\n\r\nbody\r\n');
    c.source.destroy(); // smtp-server may close it after the end
    await new Promise(r => setImmediate(r));
    expect(c.broken()).toBe(0);
});

it.each([
    ['closes', undefined],
    ['fails', new Error('Connection closed before the message was received in full')]
])('a source that %s mid-message destroys the tap with an error, reported once', async (_name, err) => {
    const c = chain();
    c.source.write('Subject: a\r\n\r\npart of the bo');
    await new Promise(r => setImmediate(r));
    c.source.destroy(err);
    await expect(finished(c.tap)).rejects.toThrow();
    expect(c.tap.destroyed).toBe(true);
    expect(c.broken()).toBe(1);
});
