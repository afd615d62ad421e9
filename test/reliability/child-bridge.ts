// vmbridge as a real child process (`node bin/vmbridge.js serve`), so a test can SIGKILL it.
// Ports are chosen once and kept across restarts, as an MTA's transport map would keep them.
// dist/ must be current: run `npx tsc -p .` (npm test's pretest does) before these tests.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeListeners, freePort, toArgs, waitForPort } from '../helpers/net.js';
import { startProcess, type Started } from '../helpers/process.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let built = false;

/**
 * Compiles once per test file so the child runs the code under test — only when some source is
 * newer than its output: tsc rewriting dist/ while another test file's child loads it (a full run
 * after pretest's build) would hand that child a half-written module.
 */
export function ensureBuilt(): void {
    if (built) return;
    if (distCurrent()) {
        built = true;
        return;
    }
    const r = spawnSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tsc failed: ${r.stdout}${r.stderr}`);
    built = true;
}

function distCurrent(): boolean {
    const src = path.join(ROOT, 'src');
    for (const rel of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
        if (!rel.endsWith('.ts') || rel.endsWith('.d.ts')) continue;
        const out = statSync(path.join(ROOT, 'dist', rel.replace(/\.ts$/, '.js')), { throwIfNoEntry: false });
        if (!out || out.mtimeMs < statSync(path.join(src, rel)).mtimeMs) return false;
    }
    return true;
}

export class ChildBridge {
    lmtpPort = 0;
    adminPort = 0;
    private proc?: Started;
    private args: string[] = [];

    constructor(private readonly flags: Record<string, string>) {}

    async start(): Promise<this> {
        if (!this.lmtpPort) {
            ensureBuilt();
            this.lmtpPort = await freePort();
            this.adminPort = await freePort();
            this.args = toArgs({
                ...(await freeListeners(this.lmtpPort)),
                admin: `127.0.0.1:${this.adminPort}`,
                logLevel: process.env.VMBRIDGE_TEST_LOG ?? 'warn',
                ...this.flags
            });
        }
        this.proc = startProcess(process.execPath, [path.join(ROOT, 'bin/vmbridge.js'), 'serve', ...this.args], { cwd: ROOT });
        await waitForPort(this.lmtpPort, { greeting: /^220 /m, timeoutMs: 20_000 }).catch(async err => {
            const output = this.output();
            await this.stop(); // `x = await new ChildBridge().start()` leaves the caller no handle
            throw new Error(`${err.message}\n${output}`);
        });
        return this;
    }

    get pid(): number | undefined {
        return this.proc?.child.pid;
    }

    output(): string {
        return this.proc?.output() ?? '';
    }

    /** Resolves with the exit code or signal once the process is gone. */
    exited(): Promise<number | string> {
        const child = this.proc!.child;
        if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode!);
        return new Promise(resolve => child.once('exit', (code, sig) => resolve(code ?? sig!)));
    }

    /** True once the process has ended (crashed, killed or stopped). */
    exitedSync(): boolean {
        const child = this.proc?.child;
        return !child || child.exitCode !== null || child.signalCode !== null;
    }

    signal(sig: NodeJS.Signals): void {
        this.proc?.child.kill(sig);
    }

    async kill(): Promise<void> {
        this.signal('SIGKILL');
        await this.exited();
        this.proc = undefined;
    }

    async stop(): Promise<void> {
        await this.proc?.stop();
        this.proc = undefined;
    }
}
