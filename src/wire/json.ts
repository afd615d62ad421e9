// Event JSON wire v1: encode for PUSH frames and bus frames, decode (validated) for subscribers.
import { EventSchema, type VmEvent } from '../events/event.js';

export function encodeEvent(ev: VmEvent): string {
    return JSON.stringify(ev);
}

const encoded = new WeakMap<VmEvent, string>();

/** encodeEvent for events past the sequencer, which nothing changes any more: the journal, the
 * bus and every pusher share one JSON.stringify per event instead of one each. */
export function encodeSequenced(ev: VmEvent): string {
    let text = encoded.get(ev);
    if (text === undefined) encoded.set(ev, (text = JSON.stringify(ev)));
    return text;
}

/** Returns null for anything that is not a valid v1 event (a subscriber must never crash on junk). */
export function decodeEvent(text: string): VmEvent | null {
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch {
        return null;
    }
    const parsed = EventSchema.safeParse(raw);
    return parsed.success ? parsed.data : null;
}
