// Where a stage hands events on. The bridge chains stages (index enrichment → seq/journal →
// bus + push → mwi triggers), each one an EventSink for the one before.
import type { VmEvent } from './event.js';

export interface EventSink {
    emit(ev: VmEvent): void;
    /** Told by the sequencer once seqs were allocated for a user's next events, before their
     * journal write: a sink may start work for that user that must not begin earlier (the
     * pusher's endpoint lookup, publish/push.ts). */
    prepare?(user: string): void;
}
