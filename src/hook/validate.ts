// Validation of a parsed hook batch with the same verdict as BatchSchema, in slices for a large
// one: the envelope first, then the events HOOK_EVENT_SLICE at a time, yielding to the event loop
// between slices, so one 8 MB batch (70,000 events) does not stall everything else. A batch of one
// slice or less is validated synchronously, as before (the stream transport keeps its line order
// either way: it waits for a pending validation before reading on).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { z } from 'zod';
import { HOOK_EVENT_SLICE } from '../limits.js';
import { BATCH_EVENTS_MAX, BatchSchema, DovecotEventSchema, type Batch, type DovecotEvent } from './batch.js';

/** Everything but the events (checked per slice): one pass over 70,000 events, not two. */
const Envelope = BatchSchema.omit({ events: true });
const Slice = z.array(DovecotEventSchema);

/** The valid batch, or undefined; a Promise only when the batch has more than one slice of events. */
export function validateBatch(raw: unknown): Batch | undefined | Promise<Batch | undefined> {
    const events = (raw as { events?: unknown } | null)?.events;
    if (!Array.isArray(events) || events.length <= HOOK_EVENT_SLICE) {
        const r = BatchSchema.safeParse(raw);
        return r.success ? r.data : undefined;
    }
    const env = Envelope.safeParse(raw);
    if (!env.success || events.length > BATCH_EVENTS_MAX) return undefined;
    return inSlices(env.data, events);
}

async function inSlices(env: z.infer<typeof Envelope>, raw: unknown[]): Promise<Batch | undefined> {
    const events: DovecotEvent[] = [];
    for (let i = 0; i < raw.length; i += HOOK_EVENT_SLICE) {
        if (i) await yieldToLoop();
        const r = Slice.safeParse(raw.slice(i, i + HOOK_EVENT_SLICE));
        if (!r.success) return undefined;
        for (const ev of r.data) events.push(ev);
    }
    return { ...env, events };
}
