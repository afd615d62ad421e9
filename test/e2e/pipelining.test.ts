// An MTA that pipelines (MAIL, RCPTs and DATA in one write, as Postfix's LMTP client does) gets
// the replies to that batch in one send (the reply socket is corked while the batch is being
// answered), each recipient's own verdict from Dovecot among them, and one reply per recipient
// after the body — also when the body is larger than the socket buffers. A client that waits for
// each reply is answered at once.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { LineClient } from '../helpers/lmtp-client.js';

let dovecot: TestDovecot;
let vmb: TestBridge;
beforeAll(async () => {
    dovecot = await startDovecot();
    vmb = await startBridge({ deliver: dovecot.lmtpUrl, deliverTimeout: 10_000 });
});
afterAll(async () => {
    await vmb?.stop();
    await dovecot?.destroy();
});

const count = async (user: string) => (await dovecot.messages(user)).length;

/** Connects and says LHLO; records every chunk the bridge sends from then on. */
async function session(): Promise<{ client: LineClient; reads: string[] }> {
    const client = await LineClient.connect(vmb.lmtpPort);
    expect((await client.reply()).code).toBe(220);
    expect((await client.command('LHLO mta.example')).code).toBe(250);
    const reads: string[] = [];
    client.sock.on('data', (d: Buffer) => reads.push(d.toString('latin1')));
    return { client, reads };
}

describe('a pipelining MTA', () => {
    it('gets 250/550/250/354 in one send, then one reply per accepted recipient; stored', async () => {
        const { client, reads } = await session();
        try {
            const before = [await count('bob@example.org'), await count('carol@example.org')];
            client.write('MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n');
            const codes = [];
            for (let i = 0; i < 5; i++) codes.push((await client.reply()).code);
            expect(codes).toEqual([250, 250, 550, 250, 354]);
            expect(reads).toHaveLength(1); // one send for the whole batch
            reads.length = 0;
            client.write('Subject: pipelined\r\n\r\nhello\r\n.\r\n');
            expect([(await client.reply()).code, (await client.reply()).code]).toEqual([250, 250]);
            expect(reads).toHaveLength(1); // both recipients' replies in one send
            expect([await count('bob@example.org'), await count('carol@example.org')]).toEqual([before[0] + 1, before[1] + 1]);
        } finally {
            client.close();
        }
    });

    it('streams a body larger than the socket buffers and stores it once', async () => {
        const { client } = await session();
        try {
            const before = await count('bob@example.org');
            const body = randomBytes(4.5 * 1024 * 1024)
                .toString('base64')
                .replace(/.{76}/g, '$&\r\n');
            client.write('MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
            expect([(await client.reply()).code, (await client.reply()).code, (await client.reply()).code]).toEqual([250, 250, 354]);
            client.write(`Subject: large\r\n\r\n${body}\r\n.\r\n`);
            expect((await client.reply()).code).toBe(250);
            const bob = await dovecot.messages('bob@example.org');
            expect(bob).toHaveLength(before + 1);
            expect(bob[bob.length - 1].source.toString('latin1').endsWith(`${body}\r\n`)).toBe(true);
        } finally {
            client.close();
        }
    }, 60_000);
});

it('answers a client that waits for each reply (no pipelining)', async () => {
    const { client } = await session();
    try {
        expect((await client.command('MAIL FROM:<alice@example.org>')).code).toBe(250);
        expect((await client.command('RCPT TO:<carol@example.org>')).code).toBe(250);
        expect((await client.command('DATA')).code).toBe(354);
        expect((await client.command('Subject: one by one\r\n\r\nhi\r\n.')).code).toBe(250);
        expect((await client.command('RSET')).code).toBe(250);
    } finally {
        client.close();
    }
});
