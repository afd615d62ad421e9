// vitest globalSetup: marks every process of this run (workers pass the environment on to what
// they start), and at the end stops whatever of this run is still running — processes that lost
// their parent when a worker died, and Postfix instances (Postfix daemonizes, outside the tree).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { marked, processes, report, RUN_MARKER, stopLeftovers } from './procs.js';

/** Where helpers register what does not descend from a worker (see test/helpers/postfix.ts). */
export const RUN_DIR = 'VMB_TEST_RUN_DIR';

export function setup(): () => Promise<void> {
    const runId = `${process.pid}-${Date.now()}`;
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-run-'));
    process.env[RUN_MARKER] = runId;
    process.env[RUN_DIR] = dir;
    return async () => {
        stopPostfixes(dir);
        const own = new Set([process.pid, process.ppid]);
        const left = marked(runId, processes()).filter(p => !own.has(p.pid) && !p.cmdline.includes('node_modules'));
        report('at the end of the run', await stopLeftovers(left, 0));
        rmSync(dir, { recursive: true, force: true });
    };
}

function stopPostfixes(dir: string): void {
    for (const name of readdirSync(dir).filter(n => n.startsWith('postfix-'))) {
        const conf = readFileSync(path.join(dir, name), 'utf8');
        if (!existsSync(path.join(conf, 'main.cf'))) continue; // destroyed by its test
        try {
            execFileSync('postfix', ['-c', conf, 'status'], { stdio: 'ignore' });
        } catch {
            continue; // not running
        }
        process.stderr.write(`\n[vmbridge tests] at the end of the run: stopping leftover Postfix ${conf}\n`);
        execFileSync('postfix', ['-c', conf, 'stop'], { stdio: 'ignore' });
    }
}
