// IP access list as a voice-messaging server keeps it (Cisco Unity Connection's "IP Address
// Access List"): entries of a single address, a CIDR range or `*`, each allow or deny. The most
// specific (longest prefix) entry that matches decides; on a tie deny wins. IPv4 is compared as
// IPv4-mapped IPv6 (::ffff:a.b.c.d), so `10.0.0.1` and `::ffff:10.0.0.1` are the same client.
import { isIPv4, isIPv6 } from 'node:net';
import { stripBrackets } from './address.js';

export type Verdict = 'allow' | 'deny';

export interface AccessEntry {
    verdict: Verdict;
    /** 128-bit network address (IPv4 mapped) and prefix length 0..128. */
    net: bigint;
    prefix: number;
    /** As written, for logs. */
    source: string;
}

const V4_MAPPED = 0xffffn << 32n;
const ALL = (1n << 128n) - 1n;

/** Parses "allow 127.0.0.0/8, deny 10.0.0.0/8, allow *" or a list of such entries. */
export function parseAccessList(spec: string | readonly string[]): AccessEntry[] {
    const items = (typeof spec === 'string' ? spec.split(/[,;\n]/) : spec).map(s => s.trim()).filter(Boolean);
    return items.map(parseEntry);
}

function parseEntry(item: string): AccessEntry {
    const m = /^(allow|deny)\s+(\S+)$/i.exec(item);
    if (!m) throw new Error(`access entry "${item}": expected "allow <address|cidr|*>" or "deny <address|cidr|*>"`);
    const verdict = m[1].toLowerCase() as Verdict;
    if (m[2] === '*') return { verdict, net: 0n, prefix: 0, source: item };
    const [addr, len, extra] = m[2].split('/');
    const ip = ipToBigInt(addr);
    if (ip === undefined || extra !== undefined) throw new Error(`access entry "${item}": bad address`);
    const v4 = isIPv4(addr);
    const max = v4 ? 32 : 128;
    const bits = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
    if (!(bits >= 0 && bits <= max)) throw new Error(`access entry "${item}": prefix must be 0..${max}`);
    const prefix = v4 ? 96 + bits : bits;
    return { verdict, net: ip & mask(prefix), prefix, source: item };
}

function mask(prefix: number): bigint {
    return prefix === 0 ? 0n : (ALL >> BigInt(128 - prefix)) << BigInt(128 - prefix);
}

/** An address as a 128-bit integer, IPv4 (and IPv4-mapped IPv6) as ::ffff:a.b.c.d. */
export function ipToBigInt(address: string): bigint | undefined {
    const a = stripBrackets(address).replace(/%.*$/, '');
    if (isIPv4(a)) return V4_MAPPED | BigInt(a.split('.').reduce((n, o) => n * 256 + Number(o), 0));
    if (!isIPv6(a)) return undefined;
    const [head, tail = ''] = a.split('::') as [string, string?];
    const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
    const groups = (s: string) => (s ? s.split(':') : []);
    let h = groups(head);
    let t = groups(tail);
    if (dotted) {
        const v4 = ipToBigInt(dotted[1])! & 0xffffffffn;
        const repl = [(v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
        if (a.includes('::') && tail) t = [...t.slice(0, -1), ...repl];
        else h = [...h.slice(0, -1), ...repl];
    }
    const fill = a.includes('::') ? 8 - h.length - t.length : 0;
    const all = [...h, ...Array<string>(fill).fill('0'), ...t];
    return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export class AccessList {
    private readonly entries: AccessEntry[];

    constructor(spec: string | readonly string[]) {
        // longest prefix first; deny before allow at the same length
        this.entries = parseAccessList(spec).sort((a, b) => b.prefix - a.prefix || (a.verdict === 'deny' ? -1 : 1) - (b.verdict === 'deny' ? -1 : 1));
    }

    /** The deciding entry for a client address, or undefined when none matches (untrusted). */
    match(address: string): AccessEntry | undefined {
        const ip = ipToBigInt(address);
        if (ip === undefined) return undefined;
        return this.entries.find(e => (ip & mask(e.prefix)) === e.net);
    }

    get size(): number {
        return this.entries.length;
    }
}

/** True for 127.0.0.0/8, ::1 and their mapped forms — the listener default trusts only these. */
export function isLoopback(address: string): boolean {
    const ip = ipToBigInt(address);
    return ip !== undefined && (ip === 1n || (ip & mask(104)) === (V4_MAPPED | (127n << 24n)));
}
