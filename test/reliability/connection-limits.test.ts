// Local idle connections must not lock the MTA out (issue 17, item 8), and intake keeps its own
// file descriptors (item 3, intake part): allow-listed MTA addresses and loopback peers under the
// default access list are exempt from the per-address cap; a client that never says LHLO is closed
// after --hello-timeout; each listener holds at most its share of the fd limit, so 2,100 idle
// connections on another listener of a bridge under `ulimit -n 2048` leave LMTP working.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { send, type LineClient } from '../helpers/lmtp-client.js';
import { freeListeners, freePort, toArgs, waitForPort } from '../helpers/net.js';
import { startProcess, type Started } from '../helpers/process.js';
import { ensureBuilt, ROOT } from './child-bridge.js';
import { ClientPool, startIntake, type TestIntake } from './intake-harness.js';

const MSG = Buffer.from('Subject: t\r\n\r\nhi\r\n');
let intake: TestIntake | undefined;
const pool = new ClientPool();
afterEach(async () => {
    pool.closeAll();
    await intake?.server.close();
    intake = undefined;
});

/** A connection from `from` that says LHLO (unless hello is false) and then stays idle. */
async function open(port: number, from?: string, hello = true): Promise<{ c: LineClient; greeting: number }> {
    const { c, greeting } = await pool.connect(port, from);
    const code = Number(greeting.slice(0, 3));
    if (hello && code === 220) await c.command('LHLO idle.example');
    return { c, greeting: code };
}

describe('per-address cap and the MTA', () => {
    it('idle local connections beyond the per-address cap do not lock the MTA out (default loopback listener)', async () => {
        intake = await startIntake({ maxConnectionsPerIp: 10 });
        for (let i = 0; i < 25; i++) expect((await open(intake.port)).greeting).toBe(220);
        const r = await send(intake.port, 'mta@example.org', ['alice@example.org'], MSG);
        expect(r.final.map(f => f.code)).toEqual([250]);
    });

    it('an MTA named in the access list is exempt; other addresses keep the cap', async () => {
        intake = await startIntake({ lmtpAccess: 'allow 127.0.0.5, allow *', maxConnectionsPerIp: 2 });
        for (let i = 0; i < 5; i++) expect((await open(intake.port, '127.0.0.5')).greeting).toBe(220);
        expect((await open(intake.port, '127.0.0.6')).greeting).toBe(220);
        expect((await open(intake.port, '127.0.0.6')).greeting).toBe(220);
        expect((await open(intake.port, '127.0.0.6')).greeting).toBe(421);
    });

    it('the total cap still holds for exempt clients', async () => {
        intake = await startIntake({ maxConnections: 3 });
        for (let i = 0; i < 3; i++) expect((await open(intake.port)).greeting).toBe(220);
        expect((await open(intake.port)).greeting).toBe(421);
    });
});

describe('hello timeout', () => {
    it('closes a client that never says LHLO with 421 4.4.2; one that did stays', async () => {
        intake = await startIntake({ helloTimeout: 300 });
        const talking = await open(intake.port);
        const silent = await open(intake.port, undefined, false);
        expect(await silent.c.reply()).toEqual({ code: 421, text: '4.4.2 Timeout waiting for LHLO/EHLO, closing connection' });
        // the talking client's timer (armed first) has fired as well: it is still served
        expect((await talking.c.command('MAIL FROM:<a@example.org>')).code).toBe(250);
    });
});

describe('file descriptors: a bridge under ulimit -n 2048', () => {
    let proc: Started | undefined;
    const idle: net.Socket[] = [];
    const maildir = mkdtempSync(path.join(tmpdir(), 'vmb-fd-'));
    afterAll(async () => {
        for (const s of idle) s.destroy();
        await proc?.stop();
        rmSync(maildir, { recursive: true, force: true });
    });

    it('2,100 idle connections on the SMTP listener leave new LMTP connections working', async () => {
        ensureBuilt();
        const lmtpPort = await freePort();
        const smtpPort = await freePort();
        const args = toArgs({ ...(await freeListeners(lmtpPort)), smtp: `127.0.0.1:${smtpPort}`, deliver: `maildir:${maildir}`, logLevel: 'error' });
        proc = startProcess('prlimit', ['--nofile=2048:2048', '--', process.execPath, path.join(ROOT, 'bin/vmbridge.js'), 'serve', ...args], { cwd: ROOT });
        await waitForPort(lmtpPort, { greeting: /^220 /m, timeoutMs: 20_000 });
        await Promise.all(
            Array.from(
                { length: 2100 },
                () =>
                    new Promise<void>(resolve => {
                        const s = net.connect(smtpPort, '127.0.0.1');
                        idle.push(s);
                        s.on('error', () => resolve());
                        s.once('connect', () => resolve());
                        s.once('close', () => resolve());
                    })
            )
        );
        for (let i = 0; i < 5; i++) {
            const r = await send(lmtpPort, 'mta@example.org', ['alice@example.org'], MSG);
            expect(
                r.final.map(f => f.code),
                proc.output()
            ).toEqual([250]);
        }
    }, 60_000);
});
