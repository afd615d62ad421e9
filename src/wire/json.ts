// Event JSON wire v1: encode for PUSH frames and bus frames, decode (validated) for subscribers.
import { EventSchema, type VmEvent } from '../events/event.js';

export function encodeEvent(ev: VmEvent): string {
    return JSON.stringify(ev);
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
