// Narrowing VmEvent (a union discriminated by `type`) in tests: the assertion fails the test with
// the event's real type instead of letting a field read yield undefined.
import type { EventFields, EventOf, EventType, VmEvent } from '../../src/events/event.js';

/** The event as its `type` variant; throws when it is another type (or missing). */
export function asType<T extends EventType>(ev: VmEvent | undefined, type: T): EventOf<T> {
    if (ev?.type !== type) throw new Error(`expected a ${type} event, got ${ev ? ev.type : 'none'}`);
    return ev as EventOf<T>;
}

/** Type guard for find/filter: `evs.filter(ofType('mwi'))` is an MwiEvent[]. */
export function ofType<T extends EventType>(type: T): (ev: VmEvent) => ev is EventOf<T> {
    return (ev): ev is EventOf<T> => ev.type === type;
}

/** makeEvent's fields for one variant, with id and user left to the test's own defaults. */
export type EventInit = EventFields extends infer E ? (E extends EventFields ? Omit<E, 'id' | 'user'> & { id?: string; user?: string } : never) : never;
