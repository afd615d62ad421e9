// The libmemcached configuration string as openchange_resolver takes it (libmemcached 1.1's
// csl/scanner.l + parser.yy): options separated by spaces, names case-insensitive,
// `--SERVER=host[:port][/?weight]` may repeat. Every option is either honoured (it changes which
// server holds a key, and vmbridge places keys the same way), accepted because it cannot change
// placement or data (timeouts, socket tuning), or refused: parseServers throws a ResolverConfigError
// naming it, so `serve` stops with exit 64 instead of silently reading other servers than OpenChange.
import { DEFAULT_PLACEMENT, orderServers, type DistributionName, type Placement } from './distribution.js';
import { HASHES, type HashName } from './hashes.js';

export interface ServerSpec {
    host: string;
    port: number;
    weight?: number;
}

export interface ParsedServers {
    /** In the order libmemcached indexes them (after --SORT-HOSTS). */
    servers: ServerSpec[];
    placement: Placement;
    /** Accepted options that change neither placement nor data (for the log). */
    ignored: string[];
}

export class ResolverConfigError extends Error {}

const DEFAULT_PORT = 11211;

/** Options that cannot move a key or change what is stored: accepted, without effect here. */
const HARMLESS = new Set([
    '--BINARY-PROTOCOL',
    '--BUFFER-REQUESTS',
    '--CONNECT-TIMEOUT',
    '--IO-BYTES-WATERMARK',
    '--IO-KEY-PREFETCH',
    '--IO-MSG-WATERMARK',
    '--NOREPLY',
    '--POLL-TIMEOUT',
    '--RCV-TIMEOUT',
    '--RETRY-TIMEOUT',
    '--SND-TIMEOUT',
    '--SOCKET-RECV-SIZE',
    '--SOCKET-SEND-SIZE',
    '--SUPPORT-CAS',
    '--TCP-KEEPALIVE',
    '--TCP-KEEPIDLE',
    '--TCP-NODELAY',
    '--VERIFY-KEY',
    '--POOL-MIN',
    '--POOL-MAX',
    '--FETCH-VERSION',
    '--USER-DATA'
]);

/** Options libmemcached offers that vmbridge refuses, and why (README's compatibility table). */
export const REFUSED: Record<string, string> = {
    '--NAMESPACE': 'prefixes every key',
    '--HASH-WITH-NAMESPACE': 'hashes the namespace with the key',
    '--NUMBER-OF-REPLICAS': 'writes every key to several servers',
    '--RANDOMIZE-REPLICA-READ': 'reads replicas at random',
    '--REMOVE-FAILED-SERVERS': 'moves keys away from failed servers at run time',
    '--USE-UDP': 'UDP transport',
    '--SOCKET': 'unix-socket servers',
    '--CONFIGURE-FILE': 'reads further options from a file',
    '--DISTRIBUTION=random': 'puts each write on a random server',
    '--HASH=HSIEH': "Debian's libmemcached is built without it"
};

export function parseServers(config: string): ParsedServers {
    const servers: ServerSpec[] = [];
    const ignored: string[] = [];
    const placement: Placement = { ...DEFAULT_PLACEMENT };
    let distribution: DistributionName | undefined;
    let hash: HashName | undefined;
    // libmemcached rebuilds its continuum (with the key hash of that moment) at these options only.
    const rebuilt = () => {
        if (distribution === 'consistent') placement.pointsHash = hash ?? 'DEFAULT';
    };
    for (const opt of config.split(/\s+/).filter(Boolean)) {
        const [rawName, value] = splitOption(opt);
        const name = rawName.toUpperCase();
        if (name === '--SERVER') {
            const spec = value === undefined ? null : parseServer(value);
            if (!spec) throw new ResolverConfigError(`bad --SERVER value '${value ?? ''}' (expected host:port or host:port/?weight)`);
            servers.push(spec);
            if ((spec.weight ?? 1) > 1 && distribution === 'consistent') placement.weighted = true;
            rebuilt();
        } else if (name === '--DISTRIBUTION') {
            const [dist, extra] = (value ?? '').split(',');
            const d = dist.toLowerCase();
            if (d === 'random') refuse('--DISTRIBUTION=random');
            if (d !== 'modula' && d !== 'consistent') throw new ResolverConfigError(`bad --DISTRIBUTION value '${value ?? ''}' (modula or consistent)`);
            if (distribution) throw new ResolverConfigError('--DISTRIBUTION can only be given once');
            // `consistent,<hash>` sets libmemcached's distribution hash, which 1.1 never uses to place a key.
            if (extra !== undefined) checkHash(extra);
            distribution = d;
            if (d === 'consistent') placement.weighted = false;
            rebuilt();
        } else if (name === '--HASH') {
            if (hash) throw new ResolverConfigError('--HASH can only be given once');
            hash = checkHash(value ?? '');
        } else if (name === '--SORT-HOSTS' && value === undefined) {
            placement.sortHosts = true;
            rebuilt();
        } else if (REFUSED[name]) {
            refuse(name);
        } else if (HARMLESS.has(name)) {
            ignored.push(opt);
        } else if (!opt.startsWith('--')) {
            throw new ResolverConfigError(`'${opt}' in resolver string is not an option (expected --SERVER=host:port)`);
        } else {
            throw new ResolverConfigError(`resolver option ${opt} is not a libmemcached option vmbridge knows; refused`);
        }
    }
    if (!servers.length) servers.push({ host: '127.0.0.1', port: DEFAULT_PORT });
    placement.distribution = distribution ?? 'modula';
    placement.hash = hash ?? 'DEFAULT';
    if (!placement.weighted) delete placement.weighted;
    return { servers: orderServers(servers, placement), placement, ignored };
}

function splitOption(opt: string): [string, string | undefined] {
    const eq = opt.indexOf('=');
    return eq < 0 ? [opt, undefined] : [opt.slice(0, eq), opt.slice(eq + 1)];
}

function checkHash(v: string): HashName {
    const h = v.toUpperCase();
    if (REFUSED[`--HASH=${h}`]) refuse(`--HASH=${h}`);
    if (!(HASHES as readonly string[]).includes(h) || h === 'DEFAULT') {
        throw new ResolverConfigError(`bad --HASH value '${v}' (one of ${HASHES.filter(x => x !== 'DEFAULT').join(', ')})`);
    }
    return h as HashName;
}

function refuse(opt: string): never {
    throw new ResolverConfigError(
        `resolver option ${opt} (${REFUSED[opt]}) is not supported by vmbridge; refused so keys are never looked up on another server than OpenChange uses`
    );
}

function parseServer(v: string): ServerSpec | null {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?(?:\/\?(\d{1,5}))?$/.exec(v);
    if (!m) return null;
    const port = m[2] ? Number(m[2]) : DEFAULT_PORT;
    if (port < 1 || port > 65535) return null;
    const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
    return m[3] ? { host, port, weight: Number(m[3]) } : { host, port };
}

/** `--resolver`: `memory` (state in this process and its state directory, no memcached at all) or memcached servers. */
export type ResolverSpec = { kind: 'memory' } | ({ kind: 'memcached' } & ParsedServers);

export function parseResolver(v: string): ResolverSpec {
    return v.trim().toLowerCase() === 'memory' ? { kind: 'memory' } : { kind: 'memcached', ...parseServers(v) };
}
