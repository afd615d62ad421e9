// Start a child process and stop exactly that process (and nothing else) at teardown.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface Started {
    child: ChildProcess;
    output: () => string;
    stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startProcess(cmd: string, args: string[], opts: SpawnOptions = {}): Started {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout?.on('data', d => {
        out = (out + d).slice(-20_000);
    });
    child.stderr?.on('data', d => {
        out = (out + d).slice(-20_000);
    });
    const exited = new Promise<void>(resolve => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        child.once('exit', () => resolve());
    });
    return {
        child,
        output: () => out,
        async stop(signal: NodeJS.Signals = 'SIGTERM') {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill(signal);
            const t = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(t);
        }
    };
}

/** Each thread's /proc/<pid>/task/<tid>/stat fields after the command name (state first); [] once gone. */
export function threadStats(pid: number): string[][] {
    try {
        return readdirSync(`/proc/${pid}/task`).map(t => {
            const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
            return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        });
    } catch {
        return []; // gone
    }
}

/**
 * Resolves once every thread of each pid is stopped (state T in /proc): kill(SIGSTOP) returns
 * before a thread running on the other CPU has stopped, and a request sent meanwhile is answered.
 */
export async function stoppedAll(pids: number[], timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // a pid gone has nothing left to answer
    while (!pids.every(pid => threadStats(pid).every(([s]) => s === 'T' || s === 't' || s === 'Z'))) {
        if (Date.now() > deadline) throw new Error(`processes ${pids.join(', ')} did not stop`);
        await new Promise(r => setTimeout(r, 5));
    }
}
