// Where a stage hands events on. The bridge chains stages (index enrichment → seq/journal →
// bus + push → mwi triggers), each one an EventSink for the one before.
import type { VmEvent } from './event.js';

export interface EventSink {
    emit(ev: VmEvent): void;
}
