// ReplyCork (unit, a fake socket): replies of handlers that follow each other without a pause
// (a pipelined batch) are held together and released in one uncork; a lone handler's reply is
// released in the next tick, so a client that waits for each reply is answered at once.
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ReplyCork } from '../../src/intake/reply-cork.js';

function fakeSocket() {
    const sent: string[] = [];
    let corked = 0;
    let held: string[] = [];
    const sock = {
        destroyed: false,
        cork: () => void corked++,
        uncork: () => {
            if (corked > 0 && --corked === 0 && held.length) {
                sent.push(held.join(''));
                held = [];
            }
        },
        write: (s: string) => (corked ? held.push(s) : sent.push(s), true)
    };
    return { sock, sent, corked: () => corked };
}

const tick = () => new Promise(resolve => process.nextTick(resolve));

describe('ReplyCork', () => {
    it('sends the replies of a pipelined batch as one', async () => {
        const f = fakeSocket();
        const cork = new ReplyCork(() => f.sock as unknown as Socket);
        cork.hold(); // MAIL
        f.sock.write('250 mail\r\n');
        cork.hold(); // RCPT, dispatched before MAIL's handler returned
        cork.release();
        await tick();
        expect(f.sent).toEqual([]); // RCPT still waits for Dovecot
        f.sock.write('250 rcpt\r\n');
        cork.hold(); // DATA
        cork.release();
        f.sock.write('354 go\r\n');
        cork.release();
        await tick();
        await tick();
        expect(f.sent).toEqual(['250 mail\r\n250 rcpt\r\n354 go\r\n']);
        expect(f.corked()).toBe(0);
    });

    it('releases a lone reply in the next tick', async () => {
        const f = fakeSocket();
        const cork = new ReplyCork(() => f.sock as unknown as Socket);
        cork.around(() => f.sock.write('250 mail\r\n'));
        await tick();
        expect(f.sent).toEqual(['250 mail\r\n']);
        cork.around(() => f.sock.write('250 rcpt\r\n'));
        await tick();
        expect(f.sent).toEqual(['250 mail\r\n', '250 rcpt\r\n']);
        expect(f.corked()).toBe(0);
    });

    it('leaves a destroyed socket alone', async () => {
        const f = fakeSocket();
        f.sock.destroyed = true;
        const cork = new ReplyCork(() => f.sock as unknown as Socket);
        cork.around(() => undefined);
        await tick();
        expect(f.corked()).toBe(0);
    });
});
