// File descriptors are one pool for the whole process: idle connections on one listener must not
// leave none for new MTA connections, downstream sockets and maildir files. Each intake listener
// therefore takes at most a quarter of the soft RLIMIT_NOFILE for its clients (beyond that Node
// closes new connections at once), whatever --max-connections says: two intake listeners and the
// ingest leave at least a quarter for everything else. Linux: read from /proc/self/limits.
import { readFileSync } from 'node:fs';

/** The soft limit on open files, or undefined where /proc is not available. */
export function fdLimit(): number | undefined {
    try {
        const line = readFileSync('/proc/self/limits', 'utf8')
            .split('\n')
            .find(l => l.startsWith('Max open files'));
        const soft = line?.split(/\s{2,}/)[1];
        return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
    } catch {
        return undefined;
    }
}

/** Connections one listener may hold open: --max-connections, bounded by its share of the fd limit. */
export function listenerCap(maxConnections: number, limit = fdLimit()): number {
    return limit === undefined ? maxConnections : Math.max(1, Math.min(maxConnections, Math.floor(limit / 4)));
}
