// Events in tests. VmEvent is a union discriminated by `type`: asType/ofType narrow it (failing the
// test with the real type instead of reading undefined), anEvent builds one that the wire schema
// accepts, so a test never feeds the product an event a real stage could not produce.
import { EventSchema, type EventFields, type EventOf, type EventType, type MessageEvent, type VmEvent } from '../../src/events/event.js';

/** The event as its `type` variant; throws when it is another type (or missing). */
export function asType<T extends EventType>(ev: VmEvent | undefined, type: T): EventOf<T> {
    if (ev?.type !== type) throw new Error(`expected a ${type} event, got ${ev ? ev.type : 'none'}`);
    return ev as EventOf<T>;
}

/** Type guard for find/filter: `evs.filter(ofType('mwi'))` is an MwiEvent[]. */
export function ofType<T extends EventType>(type: T): (ev: VmEvent) => ev is EventOf<T> {
    return (ev): ev is EventOf<T> => ev.type === type;
}

/** Guard for the events about one message (newmail, flag, move, delete), which carry class, uid... */
export function isMessage(ev: VmEvent): ev is MessageEvent {
    return ev.type !== 'mwi' && ev.type !== 'reset';
}

/** makeEvent's fields for one variant, with id and user left to the test's own defaults. */
export type EventInit = EventFields extends infer E ? (E extends EventFields ? Omit<E, 'id' | 'user'> & { id?: string; user?: string } : never) : never;

// The fields each type requires, with neutral values.
const REQUIRED: { [T in EventType]: Omit<EventOf<T>, 'v' | 'id' | 'user' | 'ts' | 'type'> } = {
    newmail: {},
    flag: { flags: { set: ['\\Seen'], cleared: [] } },
    move: { from: { mailbox: 'INBOX', uid: 1 }, to: { mailbox: 'Trash' } },
    delete: {},
    mwi: { mwi: { mailbox: '1000@default', new: 1, old: 0, urgent: 0 } },
    reset: { reason: 'journal-gap' }
};
let next = 0;

/** A valid event of `type` (checked by the wire schema), required fields filled in unless given. */
export function anEvent<T extends EventType>(type: T, fields: Partial<Omit<EventOf<T>, 'v' | 'type'>> = {}): EventOf<T> {
    const ev = EventSchema.parse({ v: 1, id: `t${++next}`, user: 'u', ts: new Date().toISOString(), ...REQUIRED[type], ...fields, type });
    return asType(ev, type);
}
