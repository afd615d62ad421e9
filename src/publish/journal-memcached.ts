// The journal in memcached, shared by every bridge instance (and read directly by subscribe()):
// `vmbridge:seq:<user>` is the counter (binary-protocol INCR with an initial value: atomic, and
// created by the first INCR, so no ADD race), `vmbridge:j:<user>:<seq>` holds one event with
// TTL = retention. One key per event needs no CAS; a replay reads the range since+1..counter in
// bounded, pipelined GETs. A key missing inside the range is a gap (expired or never written).
import type { VmEvent } from '../events/event.js';
import { bounded, type MemcachedClient } from '../memcached/client.js';
import { getMany, setMany } from '../memcached/quiet.js';
import { MAX_KEY_BYTES, sanitizeKey } from '../resolve/key.js';
import { decodeEvent, encodeSequenced } from '../wire/json.js';
import { DEFAULT_LIMITS, type JournalLimits, type JournalStore, type ReadResult } from './journal.js';
import { JOURNAL_READ_CHUNK, JOURNAL_TAIL_POLL_MS, MEMCACHED_TIMEOUT_MS } from '../limits.js';

export interface MemcachedJournalOptions extends Partial<JournalLimits> {
    /** Upper bound per memcached operation (default 250 ms). */
    timeoutMs?: number;
}

const SEQ_DIGITS = 20; // ':' + up to 19 digits

export function seqKey(user: string): string {
    return sanitizeKey(`vmbridge:seq:${user}`);
}

export function entryKey(user: string, seq: number): string {
    return `${sanitizeKey(`vmbridge:j:${user}`, MAX_KEY_BYTES - SEQ_DIGITS)}:${seq}`;
}

export class MemcachedJournal implements JournalStore {
    readonly readWaitsForTail = true;
    private readonly limits: JournalLimits;
    private readonly timeoutMs: number;
    private ownsClient = true;

    constructor(
        private readonly client: MemcachedClient,
        opts: MemcachedJournalOptions = {}
    ) {
        this.limits = { retentionSec: opts.retentionSec ?? DEFAULT_LIMITS.retentionSec, maxCount: opts.maxCount ?? DEFAULT_LIMITS.maxCount };
        this.timeoutMs = opts.timeoutMs ?? MEMCACHED_TIMEOUT_MS;
    }

    async allocate(user: string, n: number): Promise<number> {
        // A missing counter is created holding `initial` (= n) and that value is returned. When two
        // instances create it at once, memcached answers NOT_STORED to one: its retry increments
        // (behind anything sent meanwhile on this connection: a lookup sent after the first INCR
        // may then miss a subscriber registering in that instant, which fills from the journal).
        const incr = () => bounded(this.client.increment(seqKey(user), n, { initial: n, expires: 0 }), this.timeoutMs);
        const r = await incr().catch(err => (/not stored/i.test(String(err?.message)) ? incr() : Promise.reject(err)));
        if (!r.success || typeof r.value !== 'number') throw new Error('memcached INCR failed');
        return r.value - n + 1;
    }

    async append(events: VmEvent[]): Promise<void> {
        // Quiet SETs: one write and one answer per server for the whole batch, not one per entry.
        const entries = events.map(ev => ({ key: entryKey(ev.user, ev.seq!), value: encodeSequenced(ev) }));
        const lost = await bounded(setMany(this.client, entries, this.limits.retentionSec), this.timeoutMs);
        if (lost) throw new Error(`memcached kept ${events.length - lost} of ${events.length} journal entries`);
    }

    async read(user: string, since: number, limit = this.limits.maxCount): Promise<ReadResult> {
        const raw = (await bounded(this.client.get(seqKey(user)), this.timeoutMs)).value;
        const current = raw ? Number(raw.toString('ascii')) : 0;
        if (since > current) return { current, events: [], gap: 'cursor-ahead' };
        if (since === current) return { current, events: [] };
        if (current - since > this.limits.maxCount) return { current, events: [], gap: 'cursor-too-old' };
        const last = Math.min(current, since + limit);
        let got = await this.fetch(user, since + 1, last);
        let missing = got.findIndex(ev => !ev);
        // Missing only at the tail may be a write still in flight (a batch goes out once its write
        // is sent; another instance may be slower): writes are bounded by the op timeout, so look
        // again, soon and then less often, until it has passed before calling it a gap.
        const deadline = Date.now() + this.timeoutMs + 50;
        for (let wait = JOURNAL_TAIL_POLL_MS; missing >= 0 && got.slice(missing).every(ev => !ev) && Date.now() < deadline; wait *= 4) {
            await new Promise(r => setTimeout(r, Math.min(wait, deadline - Date.now())));
            got = [...got.slice(0, missing), ...(await this.fetch(user, since + 1 + missing, last))];
            missing = got.findIndex(ev => !ev);
        }
        if (missing >= 0) return { current, events: [], gap: missing === 0 ? 'cursor-too-old' : 'journal-gap' };
        return { current, events: got as VmEvent[] };
    }

    /** The client, for another user of the same servers (the resolver), who closes it from now on. */
    handOver(): MemcachedClient {
        this.ownsClient = false;
        return this.client;
    }

    async close(): Promise<void> {
        if (this.ownsClient) this.client.close();
    }

    /** Entries from..to (inclusive), null where absent or undecodable, in chunks of quiet GETs. */
    private async fetch(user: string, from: number, to: number): Promise<(VmEvent | null)[]> {
        const out: (VmEvent | null)[] = [];
        for (let start = from; start <= to; start += JOURNAL_READ_CHUNK) {
            const end = Math.min(to, start + JOURNAL_READ_CHUNK - 1);
            const keys = Array.from({ length: end - start + 1 }, (_, i) => entryKey(user, start + i));
            // Quiet GETs: answers only for the entries that exist (a gap costs nothing).
            const { values, failed } = await bounded(getMany(this.client, keys), this.timeoutMs);
            if (failed) throw new Error(`memcached answered ${failed} journal reads with an error`);
            const chunk = keys.map((key, i) => {
                const raw = values.get(key);
                const ev = raw ? decodeEvent(raw.toString('utf8')) : null;
                // The user is checked too: an entry written under another user's key is not this user's.
                return ev?.seq === start + i && ev.user === user ? ev : null;
            });
            out.push(...chunk);
        }
        return out;
    }
}
