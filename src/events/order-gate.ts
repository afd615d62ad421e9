// Per-user event order: a newmail still waiting for Dovecot's uid holds a place in its user's
// queue, and that user's later events (a \Seen, a move, a delete of the same message) wait
// behind it, so a subscriber never sees a flag for a message before the message's newmail.
// Users never wait for each other.
import type { VmEvent } from './event.js';
import type { EventSink } from './sink.js';

export interface Slot {
    ev?: VmEvent;
    done: boolean;
}

export class OrderGate {
    private readonly queues = new Map<string, Slot[]>();
    constructor(private readonly out: EventSink) {}

    /** A place for an event that will be known later (fill() it exactly once). */
    reserve(user: string): Slot {
        const slot: Slot = { done: false };
        const q = this.queues.get(user);
        q ? q.push(slot) : this.queues.set(user, [slot]);
        return slot;
    }

    /** The reserved event is known (or, with no event, the place is given up). */
    fill(user: string, slot: Slot, ev?: VmEvent): void {
        slot.ev = ev;
        slot.done = true;
        this.drain(user);
    }

    emit(ev: VmEvent): void {
        const q = this.queues.get(ev.user);
        if (q) q.push({ ev, done: true });
        else this.out.emit(ev);
    }

    /** Reserved places not yet filled, all users. */
    get held(): number {
        let n = 0;
        for (const q of this.queues.values()) n += q.filter(s => !s.done).length;
        return n;
    }

    private drain(user: string): void {
        const q = this.queues.get(user);
        if (!q) return;
        while (q.length && q[0].done) {
            const { ev } = q.shift() as Slot;
            if (ev) this.out.emit(ev);
        }
        if (!q.length) this.queues.delete(user);
    }
}
