// Processes as /proc shows them, for the suite's own clean-up: which processes descend from a
// test worker, which carry this run's marker, and stopping exactly those (never by name).
import { readdirSync, readFileSync } from 'node:fs';

export const RUN_MARKER = 'VMB_TEST_RUN';

export interface Proc {
    pid: number;
    ppid: number;
    state: string;
    cmdline: string;
}

function read(pid: number): Proc | undefined {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // The command name may hold spaces and parentheses: fields start after the last ')'.
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
        return { pid, ppid: Number(ppid), state, cmdline };
    } catch {
        return undefined; // gone meanwhile
    }
}

export function processes(): Proc[] {
    return readdirSync('/proc')
        .filter(d => /^\d+$/.test(d))
        .map(d => read(Number(d)))
        .filter((p): p is Proc => !!p && p.state !== 'Z');
}

/** Every live process below `root` (children, their children, ...). */
export function descendants(root: number, all = processes()): Proc[] {
    const out: Proc[] = [];
    const parents = new Set([root]);
    for (let grew = true; grew;) {
        grew = false;
        for (const p of all) {
            if (parents.has(p.ppid) && !parents.has(p.pid)) {
                parents.add(p.pid);
                out.push(p);
                grew = true;
            }
        }
    }
    return out;
}

/** Processes whose environment carries this run's marker (inherited from the test workers). */
export function marked(runId: string, all = processes()): Proc[] {
    const needle = `\0${RUN_MARKER}=${runId}\0`;
    return all.filter(p => {
        try {
            return `\0${readFileSync(`/proc/${p.pid}/environ`, 'latin1')}`.includes(needle);
        } catch {
            return false;
        }
    });
}

const alive = (pid: number) => read(pid) !== undefined;

async function gone(pids: number[], ms: number): Promise<number[]> {
    const deadline = Date.now() + ms;
    let left = pids.filter(alive);
    while (left.length && Date.now() < deadline) {
        await new Promise(r => setTimeout(r, 50));
        left = left.filter(alive);
    }
    return left;
}

const signal = (pids: number[], sig: NodeJS.Signals) => {
    for (const pid of pids) {
        try {
            process.kill(pid, sig);
        } catch {
            // already gone
        }
    }
};

/**
 * Stops leftovers: a grace period for processes already told to stop (a `finally` that sent
 * SIGTERM without waiting), then SIGTERM, then SIGKILL. Returns the ones that were still running
 * after the grace period: leaks, which the caller reports.
 */
export async function stopLeftovers(procs: Proc[], graceMs = 2000): Promise<Proc[]> {
    const pids = await gone(
        procs.map(p => p.pid),
        graceMs
    );
    const leaked = procs.filter(p => pids.includes(p.pid));
    signal(pids, 'SIGTERM');
    signal(await gone(pids, 5000), 'SIGKILL');
    return leaked;
}

export function report(where: string, leaked: Proc[]): void {
    if (!leaked.length) return;
    process.stderr.write(`\n[vmbridge tests] ${where}: stopped ${leaked.length} leftover process(es):\n${leaked.map(p => `  ${p.pid} ${p.cmdline.slice(0, 200)}`).join('\n')}\n`);
}
