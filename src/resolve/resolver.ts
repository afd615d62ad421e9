// Who listens for a user: OpenChange sessions (`resolver:<cn>` NDR lists) and vmbridge
// subscribers. Lookups are bounded and never throw: a broken resolver means no push, never a
// delayed or failed delivery.
import type { EventType } from '../events/event.js';
import type { Logger } from '../log.js';
import type { CnMode } from './key.js';
import type { MemcachedClient } from '../memcached/client.js';
import type { ResolverSpec } from '../memcached/servers.js';

export type EndpointKind = 'openchange' | 'vmbridge';

export interface Endpoint {
    url: string;
    kind: EndpointKind;
    /** vmbridge subscribers may narrow the event types they want; absent = all. */
    types?: EventType[];
}

export interface Resolver {
    /** The endpoint URLs for a Dovecot username. */
    lookup(user: string): Promise<string[]>;
    /** The same, with each endpoint's kind (and a subscriber's types). */
    endpoints(user: string): Promise<Endpoint[]>;
    close(): Promise<void>;
}

export interface ResolverOptions {
    cn?: CnMode;
    logger?: Logger;
    /** Upper bound for one lookup (default 250 ms). */
    timeoutMs?: number;
    /** memcached: this client instead of a new one (the journal's, EventFront.shareMemcached); closed by close(). */
    client?: MemcachedClient;
}

/** `memory` → the embedded resolver; else memcached servers. */
export async function createResolver(config: ResolverSpec, opts: ResolverOptions = {}): Promise<Resolver> {
    if (config.kind === 'memory') {
        const { MemoryResolver } = await import('./memory.js');
        return new MemoryResolver();
    }
    const { MemcachedResolver } = await import('./memcached.js');
    return MemcachedResolver.fromConfig(config, opts);
}

/** Shared by resolvers: the URLs of a list of endpoints. */
export function urlsOf(endpoints: Endpoint[]): string[] {
    return endpoints.map(e => e.url);
}
