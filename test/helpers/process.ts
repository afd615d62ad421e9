// Start a child process and stop exactly that process (and nothing else) at teardown.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Started {
    child: ChildProcess;
    output: () => string;
    stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startProcess(cmd: string, args: string[], opts: SpawnOptions = {}): Started {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout?.on('data', d => { out = (out + d).slice(-20_000); });
    child.stderr?.on('data', d => { out = (out + d).slice(-20_000); });
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
