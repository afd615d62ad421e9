// The memcached resolver: OpenChange's `resolver:<cn>` NDR list plus vmbridge's subscription
// slots, read in parallel and bounded by one short timeout. memcached down or slow → the parts
// that did not answer count as empty, the error is counted and logged at most once per interval.
import { resolverErrors } from '../metrics.js';
import { decodeResolverValue } from '../wire/ndr.js';
import { bounded, createMemcachedClient, type MemcachedClient } from '../memcached/client.js';
import { getMany } from '../memcached/quiet.js';
import type { ParsedServers } from '../memcached/servers.js';
import { resolverKey, type CnMode } from './key.js';
import { urlsOf, type Endpoint, type Resolver, type ResolverOptions } from './resolver.js';
import { parseSubscription, subscriptionKeys } from './subscriptions.js';
import { RESOLVER_LOG_INTERVAL_MS, MEMCACHED_TIMEOUT_MS, RESOLVER_STALE_MS, RESOLVER_STALE_USERS } from '../limits.js';

const URL_RE = /^(tcp|ipc|inproc|ws):\/\/[\x21-\x7e]+$/;

export class MemcachedResolver implements Resolver {
    private readonly cn: CnMode;
    private readonly timeoutMs: number;
    private lastLog = 0;
    private suppressed = 0;
    private readonly lastGood = new Map<string, { endpoints: Endpoint[]; at: number }>();

    constructor(
        readonly client: MemcachedClient,
        private readonly opts: ResolverOptions = {}
    ) {
        this.cn = opts.cn ?? 'username';
        this.timeoutMs = opts.timeoutMs ?? MEMCACHED_TIMEOUT_MS;
    }

    static fromConfig(config: ParsedServers, opts: ResolverOptions = {}): MemcachedResolver {
        return new MemcachedResolver(opts.client ?? createMemcachedClient(config, { logger: opts.logger, timeoutMs: opts.timeoutMs }), opts);
    }

    async endpoints(user: string): Promise<Endpoint[]> {
        const { endpoints, failures } = await this.query(user);
        if (!failures.length) {
            this.lastGood.delete(user); // re-insert: least recently used first
            this.lastGood.set(user, { endpoints, at: Date.now() });
            if (this.lastGood.size > RESOLVER_STALE_USERS) this.lastGood.delete(this.lastGood.keys().next().value!);
            return endpoints;
        }
        this.report(failures[0], user);
        // A lookup that timed out behind a burst of journal writes must not drop the burst for a
        // subscriber that was there a moment ago (the cliff under overload): its last answer is
        // used while it is younger than a registration's lifetime.
        const last = this.lastGood.get(user);
        return last && Date.now() - last.at < RESOLVER_STALE_MS ? last.endpoints : endpoints;
    }

    /** The lookup with its failures (memcached errors and timeouts) for callers that must know. */
    async query(user: string): Promise<{ endpoints: Endpoint[]; failures: unknown[] }> {
        const failures: unknown[] = [];
        const key = resolverKey(user, this.cn);
        const keys = [key, ...subscriptionKeys(user)];
        // Quiet GETs: one write per server, answers only for the keys that exist, one timer.
        const [oc, ...subs] = await bounded(getMany(this.client, keys), this.timeoutMs).then(
            ({ values, failed }) => {
                if (failed) failures.push(new Error(`memcached answered ${failed} of the lookup's keys with an error`));
                return keys.map(k => values.get(k) ?? null);
            },
            err => {
                failures.push(err);
                return keys.map(() => null);
            }
        );

        const found: Endpoint[] = [];
        if (oc) {
            const decoded = decodeResolverValue(oc);
            if (decoded.ok) {
                for (const url of decoded.value) if (URL_RE.test(url)) found.push({ url, kind: 'openchange' });
            } else {
                this.opts.logger?.warn({ key, error: decoded.error }, 'resolver: undecodable OpenChange entry ignored');
            }
        }
        const now = Date.now();
        for (const value of subs) {
            const sub = parseSubscription(value, now);
            if (sub) found.push({ url: sub.url, kind: 'vmbridge', ...(sub.types ? { types: sub.types } : {}) });
        }
        return { endpoints: found, failures };
    }

    async lookup(user: string): Promise<string[]> {
        return urlsOf(await this.endpoints(user));
    }

    async close(): Promise<void> {
        this.client.close();
    }

    private report(err: unknown, user: string): void {
        resolverErrors.inc();
        const now = Date.now();
        if (now - this.lastLog < RESOLVER_LOG_INTERVAL_MS) {
            this.suppressed++;
            return;
        }
        this.opts.logger?.warn({ err, user, suppressed: this.suppressed }, 'resolver: memcached lookup failed; pushing to the last known endpoints, if any');
        this.lastLog = now;
        this.suppressed = 0;
    }
}
