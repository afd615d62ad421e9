// Connection limits per client address and in total, checked when a client connects (421 4.7.0
// then, so a well-behaved MTA backs off and retries). IPv4-mapped IPv6 counts as the IPv4 address.
import { ipToBigInt } from '../net/access.js';

export type Refusal = 'total' | 'per-ip';

export class ConnectionLimiter {
    private readonly perIp = new Map<string, number>();
    private total = 0;

    constructor(
        public maxTotal: number,
        public maxPerIp: number
    ) {}

    /**
     * Counts the connection, or says which limit it would exceed (and counts nothing). perIp
     * false: only the total applies (exempt clients: policy.ts perAddressCapped).
     */
    acquire(address: string, perIp = true): Refusal | undefined {
        const key = keyOf(address);
        const n = this.perIp.get(key) ?? 0;
        if (this.total >= this.maxTotal) return 'total';
        if (perIp && n >= this.maxPerIp) return 'per-ip';
        this.perIp.set(key, n + 1);
        this.total++;
        return undefined;
    }

    release(address: string): void {
        const key = keyOf(address);
        const n = this.perIp.get(key);
        if (n === undefined) return;
        if (n <= 1) this.perIp.delete(key);
        else this.perIp.set(key, n - 1);
        this.total--;
    }

    get open(): number {
        return this.total;
    }
}

function keyOf(address: string): string {
    return ipToBigInt(address)?.toString(16) ?? address;
}
