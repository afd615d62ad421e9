// Server choice for a key exactly as libmemcached 1.1 makes it, so vmbridge and OpenChange (which
// uses libmemcached) read and write `resolver:*` on the same server of a cluster
// (libmemcached/hash.cc, hosts.cc):
// - one server: always index 0, nothing is hashed;
// - modula (the default): hash(key) % server count, servers in configuration order;
// - consistent: the unweighted ketama continuum — per server 100 points, point i =
//   hash("<host>-<i>") when the port is 11211, else hash("<host>:<port>-<i>"); points sorted by
//   (value, server index); a key goes to the first point ≥ hash(key), wrapping to the first.
// Keys are hashed with --HASH= (default one-at-a-time). The points keep the hash that was in force
// when libmemcached last rebuilt the continuum — at each --SERVER, --DISTRIBUTION and --SORT-HOSTS,
// not at --HASH — so with `--DISTRIBUTION=consistent --HASH=MD5` the points are one-at-a-time
// (servers.ts tracks this as `pointsHash`).
// `--SORT-HOSTS` sorts the servers by host name (strcmp) then port before either.
import { createHash } from 'node:crypto';
import { hashKey, oneAtATime as oaat, type HashName } from './hashes.js';
import type { ServerSpec } from './servers.js';

export type DistributionName = 'modula' | 'consistent';

export interface Placement {
    distribution: DistributionName;
    hash: HashName;
    /** consistent: the hash the continuum's points were computed with. */
    pointsHash: HashName;
    /** consistent: libmemcached's weighted ketama (a server with weight > 1 added after --DISTRIBUTION=consistent). */
    weighted?: boolean;
    sortHosts: boolean;
}

export const DEFAULT_PLACEMENT: Placement = { distribution: 'modula', hash: 'DEFAULT', pointsHash: 'DEFAULT', sortHosts: false };
const POINTS_PER_SERVER = 100;
const DEFAULT_PORT = 11211;

/** Kept for callers that hash a string with libmemcached's default. */
export function oneAtATime(key: Buffer | string): number {
    return oaat(typeof key === 'string' ? Buffer.from(key, 'utf8') : key);
}

/** libmemcached's default choice (modula over one-at-a-time). */
export function serverIndex(key: string, serverCount: number): number {
    return serverCount <= 1 ? 0 : oneAtATime(key) % serverCount;
}

/** The servers in the order libmemcached indexes them. */
export function orderServers<T extends ServerSpec>(servers: T[], p: Placement): T[] {
    if (!p.sortHosts) return servers;
    const cmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    return [...servers].sort((a, b) => cmp(a.host, b.host) || a.port - b.port);
}

/** A key → server index function for these (already ordered) servers. */
export function chooser(servers: ServerSpec[], p: Placement): (key: string) => number {
    if (servers.length <= 1) return () => 0;
    if (p.distribution === 'modula') return key => hashKey(p.hash, key) % servers.length;
    const points: { value: number; index: number }[] = [];
    const total = servers.reduce((t, s) => t + (s.weight ?? 1), 0);
    servers.forEach((s, index) => {
        const name = s.port === DEFAULT_PORT ? s.host : `${s.host}:${s.port}`;
        if (!p.weighted) {
            for (let i = 0; i < POINTS_PER_SERVER; i++) points.push({ value: hashKey(p.pointsHash, `${name}-${i}`), index });
            return;
        }
        // Weighted: 160 points per server scaled by weight, in single-precision float as the C code
        // computes it, four per MD5 digest of "<name>-<i>".
        const f = Math.fround;
        const pct = f(f(s.weight ?? 1) / f(total));
        const count = Math.floor(f(f(f(f(pct * 160) / 4) * f(servers.length)) + f(1e-10))) * 4;
        for (let i = 0; i < count / 4; i++) {
            const digest = createHash('md5').update(`${name}-${i}`).digest();
            for (let x = 0; x < 4; x++) points.push({ value: digest.readUInt32LE(4 * x), index });
        }
    });
    points.sort((a, b) => a.value - b.value || a.index - b.index);
    return key => {
        const h = hashKey(p.hash, key);
        let lo = 0;
        let hi = points.length;
        while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (points[mid].value < h) lo = mid + 1;
            else hi = mid;
        }
        return points[lo === points.length ? 0 : lo].index;
    };
}
