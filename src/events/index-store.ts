// uid → message index per (user, mailbox, uidValidity): what later flag/move/delete events need
// to say (Message-ID, class, voicemail metadata) but Dovecot's events do not carry. In memory
// (bounded, least recently used dropped) or in memcached, shared by several bridge instances.
import { z } from 'zod';
import { MESSAGE_CLASSES, VoicemailSchema } from './event.js';
import type { Logger } from '../log.js';
import { bounded, createMemcachedClient, type MemcachedClient } from '../memcached/client.js';
import { sanitizeKey } from '../resolve/key.js';
import { SqliteIndex } from './index-sqlite.js';
import type { ParsedServers, ResolverSpec } from '../memcached/servers.js';
import { MEMCACHED_TIMEOUT_MS, UID_INDEX_TTL_SEC, UID_INDEX_MEMORY_MAX, UID_INDEX_LOCAL_MAX } from '../limits.js';

export const IndexEntrySchema = z.object({
    messageId: z.string().optional(),
    class: z.enum(MESSAGE_CLASSES).optional(),
    voicemail: VoicemailSchema.optional()
});
export type IndexEntry = z.infer<typeof IndexEntrySchema>;

export interface MessageRef {
    user: string;
    mailbox: string;
    uidValidity: number;
    uid: number;
}

export interface IndexStore {
    get(ref: MessageRef): Promise<IndexEntry | undefined>;
    set(ref: MessageRef, entry: IndexEntry): Promise<void>;
    delete(ref: MessageRef): Promise<void>;
    close(): Promise<void>;
}

// Each part escaped (':' included), so two refs never share a key: user `a:1` + mailbox `M` and
// user `a` + mailbox `1:…` used to.
const keyOf = (r: MessageRef) => `vmbridge:idx:${encodeURIComponent(r.user)}:${r.uidValidity}:${r.uid}:${encodeURIComponent(r.mailbox)}`;

export class MemoryIndex implements IndexStore {
    private readonly map = new Map<string, IndexEntry>();
    constructor(private readonly max = UID_INDEX_MEMORY_MAX) {}

    async get(ref: MessageRef): Promise<IndexEntry | undefined> {
        const k = keyOf(ref);
        const v = this.map.get(k);
        if (v) {
            this.map.delete(k); // Map order = recency
            this.map.set(k, v);
        }
        return v;
    }
    async set(ref: MessageRef, entry: IndexEntry): Promise<void> {
        this.map.delete(keyOf(ref));
        this.map.set(keyOf(ref), entry);
        if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
    }
    async delete(ref: MessageRef): Promise<void> {
        this.map.delete(keyOf(ref));
    }
    async close(): Promise<void> {}
}

// A uid names one message for good within its uidValidity, so an entry never changes, only goes
// (expunge, move): the entries this instance wrote or read are kept in a bounded local copy too,
// and a flag/move/delete on a recent message needs no memcached round trip (event latency).
export class MemcachedIndex implements IndexStore {
    private readonly client: MemcachedClient;
    private readonly local = new MemoryIndex(UID_INDEX_LOCAL_MAX);
    constructor(
        servers: ParsedServers,
        private readonly log: Logger,
        private readonly ttlSec = UID_INDEX_TTL_SEC,
        private readonly timeoutMs = MEMCACHED_TIMEOUT_MS
    ) {
        this.client = createMemcachedClient(servers, { logger: log, timeoutMs });
    }

    async get(ref: MessageRef): Promise<IndexEntry | undefined> {
        const known = await this.local.get(ref);
        if (known) return known;
        try {
            const { value } = await bounded(this.client.get(sanitizeKey(keyOf(ref))), this.timeoutMs);
            if (!value) return undefined;
            const parsed = IndexEntrySchema.safeParse(JSON.parse(value.toString('utf8')));
            if (!parsed.success) return undefined;
            await this.local.set(ref, parsed.data);
            return parsed.data;
        } catch (err) {
            this.log.debug({ err: (err as Error).message }, 'index lookup failed');
            return undefined;
        }
    }
    async set(ref: MessageRef, entry: IndexEntry): Promise<void> {
        await this.local.set(ref, entry);
        await bounded(this.client.set(sanitizeKey(keyOf(ref)), JSON.stringify(entry), { expires: this.ttlSec }), this.timeoutMs).catch(() => undefined);
    }
    async delete(ref: MessageRef): Promise<void> {
        await this.local.delete(ref);
        await bounded(this.client.delete(sanitizeKey(keyOf(ref))), this.timeoutMs).catch(() => undefined);
    }
    async close(): Promise<void> {
        this.client.close();
    }
}

/** memcached for a memcached resolver; else the state directory's store (or memory without one). */
export function createIndex(resolver: ResolverSpec, log: Logger, stateDir?: string): IndexStore {
    if (resolver.kind === 'memcached') return new MemcachedIndex(resolver, log);
    return stateDir ? new SqliteIndex(stateDir) : new MemoryIndex();
}
