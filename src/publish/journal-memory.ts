// The embedded journal (with the `memory` resolver): one counter and a bounded, time-limited list
// of events per user, in this process. Idle users are swept so memory follows recent activity.
import type { VmEvent } from '../events/event.js';
import { DEFAULT_LIMITS, type JournalLimits, type JournalStore, type ReadResult } from './journal.js';

interface Entry {
    at: number;
    ev: VmEvent;
}

interface UserLog {
    current: number;
    entries: Entry[];
}

const SWEEP_MS = 60_000;

export class MemoryJournal implements JournalStore {
    private readonly users = new Map<string, UserLog>();
    private readonly sweeper: NodeJS.Timeout;

    constructor(private readonly limits: JournalLimits = DEFAULT_LIMITS) {
        this.sweeper = setInterval(() => this.sweep(), SWEEP_MS).unref();
    }

    async allocate(user: string, n: number): Promise<number> {
        const log = this.log(user);
        const first = log.current + 1;
        log.current += n;
        return first;
    }

    async append(events: VmEvent[]): Promise<void> {
        const now = Date.now();
        for (const ev of events) {
            const log = this.log(ev.user);
            log.entries.push({ at: now, ev });
            if (log.entries.length > this.limits.maxCount) log.entries.splice(0, log.entries.length - this.limits.maxCount);
        }
    }

    async read(user: string, since: number): Promise<ReadResult> {
        const log = this.users.get(user);
        const current = log?.current ?? 0;
        if (since > current) return { current, events: [], gap: 'cursor-ahead' };
        if (since === current || !log) return { current, events: [] };
        this.expire(log, Date.now());
        const start = log.entries.findIndex(e => (e.ev.seq ?? 0) > since);
        const events = start < 0 ? [] : log.entries.slice(start).map(e => e.ev);
        // Contiguity check: seqs must run since+1, since+2, … up to current.
        const contiguous = events.every((ev, i) => ev.seq === since + 1 + i) && (events.length ? events[events.length - 1].seq : since) === current;
        return contiguous ? { current, events } : { current, events: [], gap: 'cursor-too-old' };
    }

    async close(): Promise<void> {
        clearInterval(this.sweeper);
        this.users.clear();
    }

    private log(user: string): UserLog {
        let log = this.users.get(user);
        if (!log) this.users.set(user, (log = { current: 0, entries: [] }));
        return log;
    }

    private expire(log: UserLog, now: number): void {
        const cutoff = now - this.limits.retentionSec * 1000;
        const keep = log.entries.findIndex(e => e.at >= cutoff);
        log.entries.splice(0, keep < 0 ? log.entries.length : keep);
    }

    /** Drops expired events; a user with none left keeps only its counter (seq never goes back). */
    private sweep(): void {
        const now = Date.now();
        for (const log of this.users.values()) this.expire(log, now);
    }
}
