// Parsing shared by the listen/subscribe commands and subscriber programs.
import { EVENT_TYPES, type EventType } from '../events/event.js';

/** `newmail,flag` → ['newmail','flag']; throws naming the unknown type. */
export function parseTypes(list: string | undefined): EventType[] | undefined {
    if (!list) return undefined;
    const types = list
        .split(',')
        .map(t => t.trim())
        .filter(Boolean);
    for (const t of types) {
        if (!(EVENT_TYPES as readonly string[]).includes(t)) throw new Error(`unknown event type '${t}' (expected ${EVENT_TYPES.join(', ')})`);
    }
    return types.length ? (types as EventType[]) : undefined;
}

/** An AbortSignal that fires on SIGINT/SIGTERM (commands stop cleanly and unregister). */
export function signalOnTermination(): AbortSignal {
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return ac.signal;
}

/** `--since <seq>`: a non-negative integer; throws with the reason. */
export function parseSince(v: string | undefined): number | undefined {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new Error(`expected a non-negative integer seq, got '${v}'`);
    return n;
}
