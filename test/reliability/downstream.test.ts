// Dovecot down, frozen (SIGSTOP) or refusing (its mail store unwritable): the MTA gets a 4xx,
// never a 250 for an unstored copy, and the retry after recovery is stored, byte-identical.
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send, type SendResult } from '../helpers/lmtp-client.js';
import { copiesOf, frozen, uniqueMessage } from './faults-util.js';

const USER = 'bob@example.org';
const codes = (r: SendResult) => [...r.rcpt.map(x => x.code), ...r.final.map(x => x.code)];

describe('Dovecot failing behind vmbridge', () => {
    let dovecot: TestDovecot;
    let vmb: TestBridge;
    const stored = async () => (await dovecot.messages(USER)).map(m => m.source);
    const deliver = (msg: Buffer) => send(vmb.lmtpPort, 'mta@example.org', [USER], msg);

    beforeAll(async () => {
        dovecot = await startDovecot();
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, deliverTimeout: 1500 });
    });
    afterAll(async () => {
        await vmb?.stop();
        await dovecot?.destroy();
    });

    /** The failed attempt got only 2xx for MAIL/RCPT and a 4xx somewhere, never a final 250. */
    function expectTempFail(r: SendResult): void {
        const c = codes(r);
        expect(c.some(x => x >= 400 && x < 500)).toBe(true);
        expect(c.every(x => x < 300 || (x >= 400 && x < 500))).toBe(true);
        expect(r.final.some(f => f.code === 250)).toBe(false);
    }

    it('down: 4xx, then the retry is stored after Dovecot is back', async () => {
        const { id, bytes } = uniqueMessage();
        await dovecot.stop();
        try {
            expectTempFail(await deliver(bytes));
        } finally {
            await dovecot.start();
        }
        expect(codes(await deliver(bytes))).toEqual([250, 250]);
        expect(copiesOf(await stored(), bytes, id)).toEqual({ exact: 1, other: 0 });
    });

    it('frozen (SIGSTOP): 4xx within the deliver timeout, then stored after SIGCONT', async () => {
        const { id, bytes } = uniqueMessage();
        await frozen(dovecot.pid!, async () => expectTempFail(await deliver(bytes)));
        expect(codes(await deliver(bytes))).toEqual([250, 250]);
        const copies = copiesOf(await stored(), bytes, id);
        expect(copies.other).toBe(0);
        // a copy Dovecot had fully received when frozen may commit on SIGCONT: duplicate, not loss
        expect(copies.exact).toBeGreaterThanOrEqual(1);
        expect(copies.exact).toBeLessThanOrEqual(2);
    });

    it('refusing (mail store unwritable): 4xx, then stored once it is writable again', async () => {
        const { id, bytes } = uniqueMessage();
        const dir = path.join(dovecot.dir, 'mail');
        chmodSync(dir, 0o000);
        try {
            const r = await deliver(bytes);
            expectTempFail(r);
        } finally {
            chmodSync(dir, 0o755);
        }
        expect(codes(await deliver(bytes))).toEqual([250, 250]);
        expect(copiesOf(await stored(), bytes, id)).toEqual({ exact: 1, other: 0 });
    });
});
