// Reading /proc/<pid>/stat (or a thread's, /proc/<pid>/task/<tid>/stat) for the benchmarks' CPU
// figures: user + system time does not depend on the machine's load as wall-clock rates do.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TICK_MS = 10; // clock ticks of USER_HZ = 100

/** The fields after the command name (which may hold spaces): [0] state, [1] ppid, [11] utime, … */
export function statFields(path) {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU time so far, ms; `children` adds what its reaped children used (cutime, cstime). */
export function cpuMsOf(path, { children = false } = {}) {
    const f = statFields(path);
    const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
    return ticks * TICK_MS;
}

/** A process's CPU time so far, ms. */
export const cpuMs = pid => cpuMsOf(`/proc/${pid}/stat`);

/** CPU ms so far of each of a process's threads, by thread id (the main thread's is the pid). */
export function threadCpuMs(pid) {
    const out = {};
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
            out[tid] = cpuMsOf(`/proc/${pid}/task/${tid}/stat`);
        } catch {
            // a thread that ended since the listing
        }
    }
    return out;
}

/** The machine's busy CPU time so far, ms, over all cores (/proc/stat: everything but idle and iowait). */
export function machineBusyMs() {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = ticks; // idle and iowait left out
    return (user + nice + system + irq + softirq + steal) * TICK_MS;
}

/** Which of `pids` holds the loopback TCP socket whose peer is our `localPort` (/proc/net/tcp: its inode). */
export function peerPid(pids, localPort) {
    const port = localPort.toString(16).toUpperCase().padStart(4, '0');
    const inodes = new Set(
        readFileSync('/proc/net/tcp', 'utf8')
            .split('\n')
            .slice(1)
            .map(l => l.trim().split(/\s+/))
            .filter(f => f[2]?.endsWith(`:${port}`))
            .map(f => `socket:[${f[9]}]`)
    );
    return pids.find(pid => {
        try {
            return readdirSync(`/proc/${pid}/fd`).some(fd => inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`)));
        } catch {
            return false; // gone
        }
    });
}
