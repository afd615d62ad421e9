// Deliveries shared between bridge instances that share memcached (design.md, "Scale past one
// machine"): Dovecot's hook reports to one instance, while the MTA may have delivered the copy
// through another. The delivering instance marks the copy in memcached before Dovecot commits;
// an instance that gets a MessageNew it did not expect checks the mark, and when another
// instance delivered the copy it leaves the newmail to that one and hands it the uid through
// memcached instead of publishing a second newmail. Without memcached this is a no-op.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { bounded, createMemcachedClient, type MemcachedClient } from '../memcached/client.js';
import { sanitizeKey } from '../resolve/key.js';
import type { StoredAt } from './newmail.js';
import type { ParsedServers, ResolverSpec } from '../memcached/servers.js';
import { SHARED_JOIN_TTL_SEC, MEMCACHED_TIMEOUT_MS, SHARED_JOIN_GRACE_MS } from '../limits.js';

export interface SharedJoin {
    /** This instance is delivering a copy of `messageId` to `user` (Dovecot has not committed yet). */
    expect(user: string, messageId: string | undefined): void;
    /** Another instance delivered this copy: the uid (when Dovecot gave one) is handed to it, and true means "do not publish". */
    handOver(user: string, messageId: string | undefined, at: Required<StoredAt>): Promise<boolean>;
    /** The uid another instance learnt from Dovecot for a copy this one delivered. */
    uidFor(user: string, messageId: string | undefined): Promise<Required<StoredAt> | undefined>;
    close(): Promise<void>;
}

export class MemcachedJoin implements SharedJoin {
    private readonly client: MemcachedClient;
    private readonly me = randomUUID();

    constructor(
        servers: ParsedServers,
        private readonly log: Logger,
        private readonly timeoutMs = MEMCACHED_TIMEOUT_MS,
        private readonly graceMs = SHARED_JOIN_GRACE_MS
    ) {
        this.client = createMemcachedClient(servers, { logger: log, timeoutMs });
        // Connect now: a mark must not wait for a connection while Dovecot commits the copy.
        void bounded(this.client.get('vmbridge:warm'), timeoutMs).catch(() => undefined);
    }

    expect(user: string, messageId: string | undefined): void {
        if (!messageId) return;
        void bounded(this.client.set(key('dlv', user, messageId), this.me, { expires: SHARED_JOIN_TTL_SEC }), this.timeoutMs).catch(err => this.failed(err));
    }

    async handOver(user: string, messageId: string | undefined, at: Required<StoredAt>): Promise<boolean> {
        if (!messageId) return false;
        try {
            const mark = async () => (await bounded(this.client.get(key('dlv', user, messageId)), this.timeoutMs)).value?.toString();
            // The delivering instance's mark may still be on its way (it is sent as Dovecot commits): look twice.
            const value = (await mark()) ?? (await new Promise(r => setTimeout(r, this.graceMs)), await mark());
            if (!value || value === this.me) return false;
            if (at.uid > 0) await bounded(this.client.set(key('uid', user, messageId), JSON.stringify(at), { expires: SHARED_JOIN_TTL_SEC }), this.timeoutMs);
            return true;
        } catch (err) {
            this.failed(err);
            return false; // better a possible second newmail than none
        }
    }

    async uidFor(user: string, messageId: string | undefined): Promise<Required<StoredAt> | undefined> {
        if (!messageId) return undefined;
        try {
            const { value } = await bounded(this.client.get(key('uid', user, messageId)), this.timeoutMs);
            const at = value ? (JSON.parse(value.toString()) as Required<StoredAt>) : undefined;
            return at && Number.isInteger(at.uid) && at.uid > 0 ? at : undefined;
        } catch (err) {
            this.failed(err);
            return undefined;
        }
    }

    async close(): Promise<void> {
        this.client.close();
    }

    private failed(err: unknown): void {
        this.log.debug({ err: (err as Error).message }, 'shared join state unavailable');
    }
}

const key = (kind: string, user: string, messageId: string) => sanitizeKey(`vmbridge:${kind}:${user}\0${messageId}`);

/** None with the memory resolver: no other instance can share its deliveries. */
export function createSharedJoin(resolver: ResolverSpec, log: Logger): SharedJoin | undefined {
    return resolver.kind === 'memory' ? undefined : new MemcachedJoin(resolver, log);
}
