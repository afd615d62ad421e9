// A token bucket per key (client address, token, …): `burst` requests at once, refilled at
// `perSecond`. Used for failed AUTH attempts here and meant for the ingest endpoint as well.
// Idle buckets are forgotten, so the map stays bounded by the number of recent sources.
import { RATE_LIMIT_KEYS_MAX } from '../limits.js';

export interface RateLimitOptions {
    perSecond: number;
    burst: number;
    /** Upper bound on tracked keys; when full, the least recently used key is dropped. */
    maxKeys?: number;
}

interface Bucket {
    tokens: number;
    at: number;
}

export class RateLimiter {
    private readonly buckets = new Map<string, Bucket>();

    constructor(
        private readonly opts: RateLimitOptions,
        private readonly now: () => number = Date.now
    ) {}

    /** Takes `cost` tokens for key; false (and nothing taken) when the bucket has too few. */
    take(key: string, cost = 1): boolean {
        const b = this.refill(key);
        if (b.tokens < cost) return false;
        b.tokens -= cost;
        return true;
    }

    /** Gives back tokens taken for an attempt that turned out not to count (e.g. a success). */
    refund(key: string, cost = 1): void {
        const b = this.refill(key);
        b.tokens = Math.min(this.opts.burst, b.tokens + cost);
    }

    /** Seconds until `cost` tokens are available (for a Retry-After header). */
    retryAfter(key: string, cost = 1): number {
        const b = this.refill(key);
        return b.tokens >= cost ? 0 : Math.ceil((cost - b.tokens) / this.opts.perSecond);
    }

    private refill(key: string): Bucket {
        const t = this.now();
        let b = this.buckets.get(key);
        if (b) {
            this.buckets.delete(key); // re-insert: Map order is then least recently used first
            b.tokens = Math.min(this.opts.burst, b.tokens + ((t - b.at) / 1000) * this.opts.perSecond);
            b.at = t;
        } else {
            b = { tokens: this.opts.burst, at: t };
            if (this.buckets.size >= (this.opts.maxKeys ?? RATE_LIMIT_KEYS_MAX)) this.buckets.delete(this.buckets.keys().next().value as string);
        }
        this.buckets.set(key, b);
        return b;
    }
}
