// The native driver writes a transaction's batch AFTER Dovecot's reply to the client (IMAP's
// tagged OK, LMTP's 250), not from inside the commit: woken before that reply, the bridge competed
// with Dovecot for the core it still needed to answer (the STORE p99 of bench/dovecot-cost.mjs).
// The order is the mail process's own syscall order, read with strace attached to it: no timing.
// On Dovecot 2.3 and 2.4 (in the trixie root: the same ioloop turn holds on both).
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../src/hook/batch.js';
import { IngestServer } from '../../src/hook/ingest.js';
import { createLogger } from '../../src/log.js';
import { MASTER, type TestDovecot } from '../helpers/dovecot.js';
import { DOVECOT_VERSIONS, dovecotOf, ROOT_BUILD_TIMEOUT } from '../helpers/dovecot24.js';
import { type HookFragment } from '../helpers/hook-fragment.js';
import { LineClient, dataPayload, send } from '../helpers/lmtp-client.js';
import { nativeFragment, socketDir } from '../helpers/native-driver.js';
import { waitFor } from '../helpers/net.js';
import { startProcess } from '../helpers/process.js';

const ROOT = path.resolve(__dirname, '../..');
const PLAIN = readFileSync(path.join(ROOT, 'test/fixtures/messages/plain.eml'));
const TOKEN = 'native-order-token-0123456789abcdef';
const USER = 'order@example.org';

/** The one child of Dovecot's master running `service` (imap, lmtp: not their -login helpers). */
function childOf(master: number, service: string): number {
    const pids = readdirSync('/proc').filter(p => {
        try {
            const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
            const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
            return ppid === String(master) && new RegExp(`^dovecot/${service}(?![-\\w])`).test(readFileSync(`/proc/${p}/cmdline`, 'utf8'));
        } catch {
            return false;
        }
    });
    expect(pids).toHaveLength(1);
    return Number(pids[0]);
}

/** The write-side syscalls `pid` makes while `act` runs, in order, as strace prints them. */
async function traced(pid: number, dir: string, act: () => Promise<void>): Promise<string[]> {
    const out = path.join(dir, `strace-${pid}.txt`);
    const strace = startProcess('strace', ['-s', '4096', '-e', 'trace=write,writev,sendto,sendmsg', '-o', out, '-p', String(pid)]);
    try {
        // Attached once the kernel names strace as the tracer.
        const tracer = () => /TracerPid:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        await waitFor(() => tracer() === String(strace.child.pid), 10_000, 'strace attached');
        await act();
    } finally {
        await strace.stop('SIGTERM'); // detaches, the file complete
    }
    return readFileSync(out, 'utf8').split('\n');
}

describe.each(DOVECOT_VERSIONS)('Dovecot %s, native driver: the batch leaves after the reply', version => {
    let dir = '';
    let frag: HookFragment;
    let dovecot: TestDovecot;
    let ingest: IngestServer | undefined;
    const batches: Batch[] = [];
    const batchLine = (name: string) => (l: string) => l.includes('{\\"mac\\"') && l.includes(`\\"name\\":\\"${name}\\"`);

    beforeAll(async () => {
        dir = await socketDir(version, 'vmb-native-order-');
        const sock = path.join(dir, 'ingest.sock');
        ingest = new IngestServer({ listen: { path: sock }, token: TOKEN, maxBody: 1 << 20, logger: createLogger('silent'), onBatch: b => batches.push(b) });
        await ingest.listen();
        frag = await nativeFragment(version, ['--ingest', `unix:${sock}`, '--ingest-token', TOKEN]);
        dovecot = await dovecotOf(version, { users: [USER], extraConfig: frag.fragment }).start();
        expect((await send(dovecot.lmtpPort, 'x@example.org', [USER], PLAIN)).final.map(f => f.code)).toEqual([250]);
        await waitFor(() => batches.length === 1, 10_000, 'the first delivery');
    }, ROOT_BUILD_TIMEOUT);

    afterAll(async () => {
        await ingest?.close();
        await dovecot?.destroy();
        frag?.cleanup();
        rmSync(dir, { recursive: true, force: true });
    });

    it('IMAP STORE: the tagged OK is written before the FlagsSet batch', async () => {
        const c = await LineClient.connect(dovecot.imapPort);
        const tagged = async (tag: string, cmd: string) => {
            c.write(`${tag} ${cmd}\r\n`);
            for (let l = await c.line(); ; l = await c.line()) if (l.startsWith(`${tag} `)) return l;
        };
        try {
            await c.line(); // greeting
            expect(await tagged('a1', `LOGIN "${USER}*${MASTER.user}" "${MASTER.password}"`)).toMatch(/^a1 OK/);
            expect(await tagged('a2', 'SELECT INBOX')).toMatch(/^a2 OK/);
            const trace = await traced(childOf(dovecot.pid!, 'imap'), dir, async () => {
                expect(await tagged('a3', 'UID STORE 1 +FLAGS (\\Flagged)')).toMatch(/^a3 OK/);
                await waitFor(() => batches.length === 2, 10_000, 'the STORE batch');
            });
            const ok = trace.findIndex(l => l.includes('a3 OK'));
            const batch = trace.findIndex(batchLine('FlagsSet'));
            expect(ok).toBeGreaterThanOrEqual(0);
            expect(batch).toBeGreaterThan(ok);
        } finally {
            c.close();
        }
        expect(batches[1].events).toContainEqual(expect.objectContaining({ name: 'FlagsSet', uid: 1, flags: ['\\Flagged'] }));
    });

    it("LMTP: the recipient's 250 after DATA is written before the MessageNew batch", async () => {
        const c = await LineClient.connect(dovecot.lmtpPort);
        try {
            await c.reply(); // greeting
            await c.command('LHLO test.example');
            const trace = await traced(childOf(dovecot.pid!, 'lmtp'), dir, async () => {
                expect((await c.command('MAIL FROM:<x@example.org>')).code).toBe(250);
                expect((await c.command(`RCPT TO:<${USER}>`)).code).toBe(250);
                expect((await c.command('DATA')).code).toBe(354);
                c.write(dataPayload(PLAIN));
                expect((await c.reply()).code).toBe(250);
                await waitFor(() => batches.length === 3, 10_000, 'the delivery batch');
            });
            const saved = trace.findIndex(l => /"250 [^"]*Saved/.test(l));
            const batch = trace.findIndex(batchLine('MessageNew'));
            expect(saved).toBeGreaterThanOrEqual(0);
            expect(batch).toBeGreaterThan(saved);
        } finally {
            c.close();
        }
    });
});
