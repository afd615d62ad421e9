// Duplicate storm with many recipients (issue 17, item 7): Dovecot LMTP answers only after it has
// stored every copy (about 5 s for 2,000 here), far past a short --deliver-timeout. The replies
// after the final dot wait for --deliver-data-done-timeout instead, so every recipient gets its
// 250 and each copy is stored exactly once — not 451 for copies Dovecot went on to store.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { dataPayload, LineClient } from '../helpers/lmtp-client.js';

const N = 2000;
const USERS = Array.from({ length: N }, (_, i) => `u${i}@example.org`);

describe(`${N} recipients through Dovecot LMTP with a 1 s deliver timeout`, () => {
    let dovecot: TestDovecot;
    let vmb: TestBridge;
    beforeAll(async () => {
        dovecot = await startDovecot({ users: USERS });
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, deliverTimeout: 1000 });
    }, 60_000);
    afterAll(async () => {
        await vmb?.stop();
        await dovecot?.destroy();
    });

    it('every recipient gets 250 and every copy is stored once', async () => {
        const c = await LineClient.connect(vmb.lmtpPort);
        try {
            await c.reply();
            await c.command('LHLO mta.example');
            expect((await c.command('MAIL FROM:<pbx@example.org>')).code).toBe(250);
            for (const u of USERS) c.write(`RCPT TO:<${u}>\r\n`); // pipelined, as Postfix does
            const rcpt = [];
            for (let i = 0; i < N; i++) rcpt.push((await c.reply()).code);
            expect(rcpt.every(code => code === 250)).toBe(true);
            expect((await c.command('DATA')).code).toBe(354);
            c.write(dataPayload(Buffer.from('Subject: all hands\r\nMessage-ID: <many@test>\r\n\r\n' + 'body line\r\n'.repeat(1000))));
            const finals = new Map<number, number>();
            for (let i = 0; i < N; i++) {
                const code = (await c.reply()).code;
                finals.set(code, (finals.get(code) ?? 0) + 1);
            }
            expect(Object.fromEntries(finals)).toEqual({ 250: N });
        } finally {
            c.close();
        }
        const copies = USERS.map(u => readdirSync(path.join(dovecot.dir, 'mail', u, 'new')).length);
        expect(copies.filter(n => n !== 1)).toEqual([]);
    }, 180_000);
});
