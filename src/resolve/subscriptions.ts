// vmbridge's own subscriptions in memcached. memjs has no CAS, so instead of one shared list
// (lost updates when two subscribers register at once) each user has SUB_SLOTS fixed keys
// `vmbridge:sub:<user>:<n>`; a subscriber claims a free slot with ADD (atomic: fails when taken),
// writes {id, url, types, expires} there with a memcached TTL, refreshes it while it runs and
// deletes it on exit. A crashed subscriber's slot simply expires: nothing piles up, and readers
// also skip entries whose `expires` has passed (memcached's clock is per second).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../events/event.js';
import type { Logger } from '../log.js';
import { bounded, type MemcachedClient } from '../memcached/client.js';
import { MAX_KEY_BYTES, sanitizeKey } from './key.js';
import { SUBSCRIPTION_OP_TIMEOUT_MS, SUBSCRIPTION_REFRESH_MIN_MS } from '../limits.js';

export const SUB_SLOTS = 16;

export const SubscriptionSchema = z.object({
    id: z.string().min(1),
    url: z.string().regex(/^(tcp|ipc|inproc|ws):\/\/[\x21-\x7e]+$/, 'expected a nanomsg url'),
    types: z.array(z.enum(EVENT_TYPES)).optional(),
    /** Epoch milliseconds. */
    expires: z.number()
});
export type Subscription = z.infer<typeof SubscriptionSchema>;

export function subscriptionKeys(user: string): string[] {
    const base = sanitizeKey(`vmbridge:sub:${user}`, MAX_KEY_BYTES - 3);
    return Array.from({ length: SUB_SLOTS }, (_, i) => `${base}:${i}`);
}

/** A live subscription from a stored value, or null (missing, junk or expired). */
export function parseSubscription(value: Buffer | null, now = Date.now()): Subscription | null {
    if (!value) return null;
    let raw: unknown;
    try {
        raw = JSON.parse(value.toString('utf8'));
    } catch {
        return null;
    }
    const parsed = SubscriptionSchema.safeParse(raw);
    return parsed.success && parsed.data.expires > now ? parsed.data : null;
}

export interface RegistrationOptions {
    user: string;
    url: string;
    types?: EventType[];
    ttlSec?: number;
    logger?: Logger;
}

/** One subscriber's entry: start() claims a slot, refreshes every ttl/3; stop() deletes it. */
export class Registration {
    readonly id = randomUUID();
    private readonly ttlSec: number;
    private key?: string;
    private timer?: NodeJS.Timeout;

    constructor(
        private readonly client: MemcachedClient,
        private readonly opts: RegistrationOptions
    ) {
        this.ttlSec = Math.max(1, Math.round(opts.ttlSec ?? 30));
    }

    get slotKey(): string | undefined {
        return this.key;
    }

    async start(): Promise<void> {
        await this.claim();
        const every = Math.max(SUBSCRIPTION_REFRESH_MIN_MS, (this.ttlSec * 1000) / 3);
        this.timer = setInterval(() => this.refresh().catch(err => this.opts.logger?.warn({ err }, 'subscription refresh failed')), every);
        this.timer.unref();
    }

    /** Rewrites our slot; if it expired meanwhile (or another subscriber took it) claims a new one. */
    async refresh(): Promise<void> {
        const key = this.key;
        if (key) {
            const cur = parseSubscription((await bounded(this.client.get(key), SUBSCRIPTION_OP_TIMEOUT_MS)).value, 0);
            if (cur?.id === this.id) {
                await bounded(this.client.set(key, this.value(), { expires: this.ttlSec }), SUBSCRIPTION_OP_TIMEOUT_MS);
                return;
            }
        }
        await this.claim();
    }

    /** Stops refreshing; with remove (the default) deletes the entry (a crash leaves it to expire). */
    async stop(remove = true): Promise<void> {
        clearInterval(this.timer);
        this.timer = undefined;
        const key = this.key;
        this.key = undefined;
        if (!remove || !key) return;
        const cur = parseSubscription((await bounded(this.client.get(key), SUBSCRIPTION_OP_TIMEOUT_MS)).value, 0);
        if (cur?.id === this.id) await bounded(this.client.delete(key), SUBSCRIPTION_OP_TIMEOUT_MS);
    }

    private async claim(): Promise<void> {
        for (const key of subscriptionKeys(this.opts.user)) {
            if (await bounded(this.client.add(key, this.value(), { expires: this.ttlSec }), SUBSCRIPTION_OP_TIMEOUT_MS)) {
                this.key = key;
                this.opts.logger?.debug({ key, url: this.opts.url }, 'subscription registered');
                return;
            }
        }
        throw new Error(`all ${SUB_SLOTS} subscription slots of ${this.opts.user} are taken`);
    }

    private value(): string {
        const sub: Subscription = {
            id: this.id,
            url: this.opts.url,
            ...(this.opts.types?.length ? { types: this.opts.types } : {}),
            expires: Date.now() + this.ttlSec * 1000
        };
        return JSON.stringify(sub);
    }
}
