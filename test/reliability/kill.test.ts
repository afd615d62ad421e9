// vmbridge as a real process, killed with SIGKILL at the worst moments, with real Dovecot behind
// it. The MTA's rule — retry whatever did not get 250 — must be enough for nothing to be lost,
// and no copy may ever be stored that is not byte-identical (a truncated DATA must not commit).
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { dataPayload, LineClient, send } from '../helpers/lmtp-client.js';
import { waitFor } from '../helpers/net.js';
import { ChildBridge } from './child-bridge.js';
import { copiesOf, frozen, uniqueMessage, unreadBytes } from './faults-util.js';

const USER = 'alice@example.org';

describe('vmbridge killed or stopped as a process', () => {
    let dovecot: TestDovecot;
    let vmb: ChildBridge;
    const stored = async () => (await dovecot.messages(USER)).map(m => m.source);

    /** What an MTA does: send, and on anything but 250 try again (here: once vmbridge is back). */
    async function retryUntilStored(msg: Buffer): Promise<void> {
        await waitFor(
            async () => {
                const r = await send(vmb.lmtpPort, 'mta@example.org', [USER], msg).catch(() => undefined);
                return r?.final[0]?.code === 250;
            },
            20_000,
            'retry stored'
        );
    }

    async function openTransaction(): Promise<LineClient> {
        const c = await LineClient.connect(vmb.lmtpPort);
        await c.reply();
        await c.command('LHLO mta.example');
        expect((await c.command('MAIL FROM:<mta@example.org>')).code).toBe(250);
        expect((await c.command(`RCPT TO:<${USER}>`)).code).toBe(250);
        expect((await c.command('DATA')).code).toBe(354);
        return c;
    }

    beforeAll(async () => {
        dovecot = await startDovecot();
        vmb = await new ChildBridge({ deliver: dovecot.lmtpUrl, deliverTimeout: '5000' }).start();
    });
    afterAll(async () => {
        await vmb?.stop();
        await dovecot?.destroy();
    });

    it('SIGKILL in the middle of DATA: no 250, nothing partial stored, the retry is stored once', async () => {
        const { id, bytes } = uniqueMessage();
        const c = await openTransaction();
        const payload = dataPayload(bytes);
        c.write(payload.subarray(0, payload.length >> 1));
        // vmbridge has read the first half (nothing left unread on its socket) before the kill
        await waitFor(() => unreadBytes(vmb.lmtpPort) === 0, 5000, 'first half read');
        await vmb.kill();
        expect((await c.reply()).code).not.toBe(250);
        await vmb.start();
        await retryUntilStored(bytes);
        expect(copiesOf(await stored(), bytes, id)).toEqual({ exact: 1, other: 0 });
    });

    it('SIGKILL after the final dot, before the reply: the retry makes it stored at least once', async () => {
        const { id, bytes } = uniqueMessage();
        const c = await openTransaction();
        await frozen(dovecot.pid!, async () => {
            c.write(dataPayload(bytes));
            // the whole message sits in Dovecot's socket: vmbridge has passed the dot on
            await waitFor(() => unreadBytes(dovecot.lmtpPort) >= bytes.length, 10_000, 'message forwarded');
            await vmb.kill();
        });
        expect((await c.reply()).code).not.toBe(250);
        await vmb.start();
        await retryUntilStored(bytes);
        const copies = copiesOf(await stored(), bytes, id);
        expect(copies.other).toBe(0);
        expect(copies.exact).toBeGreaterThanOrEqual(1);
        expect(copies.exact).toBeLessThanOrEqual(2); // Dovecot may have committed the first: a duplicate, never a loss
    });

    it('SIGTERM drains: 421 to newcomers and 503 on /healthz, the open transaction finishes, exit 0', async () => {
        const { id, bytes } = uniqueMessage();
        const c = await openTransaction();
        const payload = dataPayload(bytes);
        c.write(payload.subarray(0, 100));
        vmb.signal('SIGTERM');
        const metrics = await (await fetch(`http://127.0.0.1:${vmb.adminPort}/metrics`)).text();
        expect(metrics).toMatch(/^vmbridge_messages_total\{class="email",outcome="stored"\} \d+/m);
        expect(metrics).toMatch(/^# TYPE vmbridge_downstream_seconds histogram/m);
        await waitFor(async () => (await fetch(`http://127.0.0.1:${vmb.adminPort}/healthz`)).status === 503, 5000, 'draining');
        const late = await LineClient.connect(vmb.lmtpPort);
        expect(await late.reply()).toEqual({ code: 421, text: '4.3.2 Service shutting down, try again later' });
        late.close();
        c.write(payload.subarray(100));
        expect((await c.reply()).code).toBe(250);
        c.close();
        expect(await vmb.exited()).toBe(0);
        expect(copiesOf(await stored(), bytes, id)).toEqual({ exact: 1, other: 0 });
        await vmb.start();
    });

    it('SIGHUP reloads the access list from --config without a restart', async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'vmb-hup-'));
        const file = path.join(dir, 'config.json');
        writeFileSync(file, JSON.stringify({ lmtpAccess: 'allow *' }));
        const hup = await new ChildBridge({ deliver: dovecot.lmtpUrl, config: file }).start();
        try {
            writeFileSync(file, JSON.stringify({ lmtpAccess: ['allow *', 'deny 127.0.0.0/8'] }));
            hup.signal('SIGHUP');
            await waitFor(
                async () => {
                    const c = await LineClient.connect(hup.lmtpPort);
                    const r = await c.reply();
                    c.close();
                    return r.code === 554 && r.text === '5.7.1 access denied';
                },
                5000,
                'reloaded access list'
            );
        } finally {
            await hup.stop();
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
