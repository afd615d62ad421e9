// Disk full on the maildir target (issue 17, item 1), on a real small tmpfs: ENOSPC at any point
// of the message is 451 4.3.0 for every recipient, never a crash; no partial file stays in tmp/;
// a bridge process keeps serving and stores the next message once there is room; stale tmp/
// files of a dead run are swept at start; an unhandled rejection is logged, not fatal.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MaildirDeliverer } from '../../src/deliver/maildir.js';
import { HOST } from '../../src/deliver/maildir-name.js';
import { deliver } from '../deliver/util.js';
import { send } from '../helpers/lmtp-client.js';
import { ChildBridge, ensureBuilt, ROOT } from './child-bridge.js';
import { mountTmpfs, type Tmpfs } from './tmpfs.js';

const MB = 1024 * 1024;
const bigMessage = (size: number) => Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(76)}\r\n`.padEnd(size, 'y') + '\r\n');
const ls = (dir: string) => {
    try {
        return readdirSync(dir);
    } catch {
        return [];
    }
};

describe('maildir on a full disk', () => {
    let fs: Tmpfs;
    const rejections: unknown[] = [];
    const onRejection = (r: unknown) => rejections.push(r);
    beforeAll(() => {
        fs = mountTmpfs(2048);
        process.on('unhandledRejection', onRejection);
    });
    afterAll(() => {
        process.off('unhandledRejection', onRejection);
        fs?.unmount();
    });
    afterEach(() => fs.unfill());

    // ENOSPC at the first block, mid-message, and near the end of a 1 MB message
    for (const leave of [0, 184 * 1024, 900 * 1024]) {
        it(`answers 451 4.3.0 and leaves tmp/ empty with ${leave >> 10} KB free`, async () => {
            const root = path.join(fs.dir, `mail-${leave}`);
            const d = new MaildirDeliverer({ dir: `${root}`, text: `maildir:${root}` });
            await d.swept;
            mkdirSync(root, { recursive: true });
            fs.fill(leave);
            const sent = await deliver(d, '', ['alice@example.org', 'bob@example.org'], bigMessage(MB));
            expect(sent.rcpt).toEqual([true, true]);
            for (const o of sent.outcomes) expect(o).toMatchObject({ ok: false, error: { responseCode: 451, enhanced: '4.3.0' } });
            expect(sent.outcomes[0]).toMatchObject({ error: { message: expect.stringMatching(/ENOSPC/) } });
            for (const u of ['alice@example.org', 'bob@example.org']) {
                expect(ls(path.join(root, u, 'tmp'))).toEqual([]);
                expect(ls(path.join(root, u, 'new'))).toEqual([]);
            }
            fs.unfill();
            const again = await deliver(d, '', ['alice@example.org'], bigMessage(MB));
            expect(again.outcomes).toEqual([{ ok: true, text: '2.0.0 Ok: stored', mailbox: 'INBOX' }]);
            expect(rejections).toEqual([]);
            rmSync(root, { recursive: true });
        });
    }

    it("sweeps tmp/ files of dead runs at start, never a live writer's", async () => {
        const tmp = path.join(fs.dir, 'sweep', 'carol', 'tmp');
        mkdirSync(tmp, { recursive: true });
        const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
        const now = Math.floor(Date.now() / 1000);
        const names = {
            deadRun: `${now}.M1P${dead}Q1.${HOST}`,
            liveRun: `${now}.M1P1Q1.${HOST}`, // pid 1 is alive
            otherWriter: `${now}.M1P${dead}Q1.otherhost`,
            ancient: `${now}.M1P1Q2.otherhost`
        };
        for (const n of Object.values(names)) writeFileSync(path.join(tmp, n), 'partial');
        const old = new Date(Date.now() - 40 * 3600 * 1000);
        utimesSync(path.join(tmp, names.ancient), old, old);
        const d = new MaildirDeliverer({ dir: `${fs.dir}/sweep`, text: `maildir:${fs.dir}/sweep` });
        expect(await d.swept).toBe(2);
        expect(ls(tmp).sort()).toEqual([names.liveRun, names.otherWriter].sort());
    });
});

describe('the bridge process on a full disk', () => {
    let fs: Tmpfs;
    let bridge: ChildBridge | undefined;
    beforeEach(() => {
        fs = mountTmpfs(2048);
    });
    afterEach(async () => {
        await bridge?.stop();
        bridge = undefined;
        fs?.unmount();
    });

    it('answers 451, keeps running, and stores the retry once there is room', async () => {
        bridge = await new ChildBridge({ deliver: `maildir:${fs.dir}/mail`, maxSize: String(4 * MB) }).start();
        mkdirSync(path.join(fs.dir, 'mail'), { recursive: true });
        fs.fill(184 * 1024);
        for (let i = 0; i < 3; i++) {
            const r = await send(bridge.lmtpPort, 'a@example.org', ['alice@example.org'], bigMessage(MB));
            expect(r.final).toEqual([{ code: 451, text: expect.stringMatching(/^4\.3\.0 .*ENOSPC/) }]);
        }
        expect(bridge.exitedSync()).toBe(false);
        expect(ls(path.join(fs.dir, 'mail', 'alice@example.org', 'tmp'))).toEqual([]);
        fs.unfill();
        const ok = await send(bridge.lmtpPort, 'a@example.org', ['alice@example.org'], bigMessage(MB));
        expect(ok.final.map(f => f.code)).toEqual([250]);
        expect(ls(path.join(fs.dir, 'mail', 'alice@example.org', 'new'))).toHaveLength(1);
    });
});

describe('process guard', () => {
    it('logs an unhandled rejection and keeps the process running', () => {
        ensureBuilt();
        const script = `
            const { installProcessGuard } = await import('./dist/commands/guard.js');
            const { createLogger } = await import('./dist/log.js');
            installProcessGuard(createLogger('error'), async () => {});
            Promise.reject(new Error('boom in one session'));
            setTimeout(() => { console.log('still alive'); process.exit(0); }, 50);`;
        const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
        expect(r.status).toBe(0);
        expect(r.stdout).toContain('still alive');
        expect(r.stdout + r.stderr).toMatch(/unhandled promise rejection.*|boom in one session/);
    });

    it('drains and exits 70 on an uncaught exception', () => {
        ensureBuilt();
        const script = `
            const { installProcessGuard } = await import('./dist/commands/guard.js');
            const { createLogger } = await import('./dist/log.js');
            installProcessGuard(createLogger('error'), async () => { console.log('drained'); });
            setTimeout(() => { throw new Error('corrupt state'); }, 1);
            setTimeout(() => {}, 5000);`;
        const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
        expect(r.status).toBe(70);
        expect(r.stdout).toContain('drained');
    });

    it('exits 70 at the deadline when the drain hangs', () => {
        ensureBuilt();
        const script = `
            const { installProcessGuard } = await import('./dist/commands/guard.js');
            const { createLogger } = await import('./dist/log.js');
            installProcessGuard(createLogger('silent'), () => new Promise(() => {}), 100);
            setTimeout(() => { throw new Error('corrupt state'); }, 1);
            setInterval(() => {}, 1000);`;
        const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
        expect(r.status).toBe(70);
    });
});
