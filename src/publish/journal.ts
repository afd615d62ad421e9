// The per-user journal behind catch-up: a store hands out sequence numbers (`seq`, per user,
// strictly increasing for every bridge sharing it) and keeps each sequenced event for the
// retention time, so a subscriber can replay what it missed from a cursor. Two stores:
// memcached (shared by instances, journal-memcached.ts) and memory (embedded default,
// journal-memory.ts). A replay never leaves a silent gap: when the store cannot give every
// event after the cursor, the answer is a `reset` event (and the current mwi counts, if known).
import { makeEvent, type VmEvent } from '../events/event.js';
import { DEFAULTS } from '../config.js';

export interface JournalLimits {
    /** How long events are kept, seconds (default 3 h). */
    retentionSec: number;
    /** Events kept per user; an older cursor gets `reset` (default 10 000). */
    maxCount: number;
}

export const DEFAULT_LIMITS: JournalLimits = { retentionSec: DEFAULTS.journalRetention, maxCount: DEFAULTS.journalMax };

export type { ResetReason } from '../events/event.js';
import type { ResetReason } from '../events/event.js';

/** What a store has after a cursor: `events` are contiguous from since+1; `gap` says some are gone. */
export interface ReadResult {
    /** The user's newest allocated seq (0 when none). */
    current: number;
    events: VmEvent[];
    gap?: ResetReason;
}

export interface JournalStore {
    /** True when read() waits for entries missing at the tail, as writes still in flight: the
     * sequencer then publishes a batch once its append is sent, not once it is stored (memcached:
     * one round trip less per event; its reads wait so for other instances' writes anyway). */
    readonly readWaitsForTail?: boolean;
    /** Reserves n consecutive seqs for the user and returns the first; throws when the store does not answer (bounded). */
    allocate(user: string, n: number): Promise<number>;
    /** Keeps sequenced events for the retention time. */
    append(events: VmEvent[]): Promise<void>;
    /** At most `limit` events after `since` (default: the store's count bound); fewer than
     * current - since without a gap means more can be read from the last one. */
    read(user: string, since: number, limit?: number): Promise<ReadResult>;
    close(): Promise<void>;
}

/** The current mwi events of a user (filled in by the MWI stage); sent after a reset. */
export type MwiProvider = (user: string) => Promise<VmEvent[]> | VmEvent[];

/** A reset tells the subscriber to resync; its seq is the cursor to continue from. */
export function resetEvent(user: string, reason: ResetReason, seq?: number): VmEvent {
    return makeEvent({ id: `reset.${user}.${seq ?? Date.now()}.${reason}`, type: 'reset', user, reason, seq });
}

/** The events after `since` in order, or [reset, ...current mwi] when the store lost some. */
export async function replay(store: JournalStore, user: string, since: number, currentMwi?: MwiProvider, limit?: number): Promise<VmEvent[]> {
    const r = await store.read(user, since, limit);
    if (!r.gap) return r.events;
    // The mwi snapshot carries no seq: it is state, not a journal entry.
    const mwi = currentMwi ? await Promise.resolve(currentMwi(user)).catch(() => []) : [];
    return [resetEvent(user, r.gap, r.current), ...mwi.map(({ seq: _seq, ...ev }) => ev as VmEvent)];
}
