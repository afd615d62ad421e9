// Burst coalescing per user: the first event after a quiet period goes out at once; events that
// follow within `windowMs` are held and handed on together (one seq allocation, one journal round
// trip, one resolver lookup for the burst). The window slides while the burst lasts but never
// holds an event longer than `maxHoldMs`. Nothing is dropped or merged: frames stay one event each.
import type { VmEvent } from '../events/event.js';

export interface CoalesceOptions {
    windowMs: number;
    maxHoldMs: number;
}

interface Burst {
    held: VmEvent[];
    lastFlush: number;
    firstHeld: number;
    /** When the held events go out (slides with the window, capped by maxHoldMs). */
    due: number;
    timer?: NodeJS.Timeout;
    idle?: NodeJS.Timeout;
}

export class Coalescer {
    private readonly bursts = new Map<string, Burst>();

    constructor(
        private readonly opts: CoalesceOptions,
        private readonly flush: (user: string, events: VmEvent[]) => void
    ) {}

    emit(ev: VmEvent): void {
        // Off: no state, no timers; batching then comes from the sequencer's queue alone.
        if (this.opts.windowMs <= 0) return this.flush(ev.user, [ev]);
        const now = Date.now();
        let b = this.bursts.get(ev.user);
        if (!b || (!b.timer && now - b.lastFlush >= this.opts.windowMs)) {
            b ??= { held: [], lastFlush: now, firstHeld: now, due: now };
            this.bursts.set(ev.user, b);
            this.handOn(ev.user, b, [ev]);
            return;
        }
        if (!b.timer) b.firstHeld = now;
        b.held.push(ev);
        // The window slides by moving the deadline; the one timer re-arms itself when it fires
        // early, so a burst costs a timer per window, not one per event.
        b.due = Math.min(now + this.opts.windowMs, b.firstHeld + this.opts.maxHoldMs);
        b.timer ??= this.arm(ev.user, b, b.due - now);
    }

    private arm(user: string, b: Burst, ms: number): NodeJS.Timeout {
        return setTimeout(
            () => {
                const left = b.due - Date.now();
                if (left > 0) {
                    b.timer = this.arm(user, b, left);
                    return;
                }
                b.timer = undefined;
                this.handOn(user, b, b.held.splice(0));
            },
            Math.max(0, ms)
        );
    }

    /** Hands on everything held (shutdown). */
    flushAll(): void {
        for (const [user, b] of this.bursts) {
            clearTimeout(b.timer);
            clearTimeout(b.idle);
            b.timer = undefined;
            if (b.held.length) this.flush(user, b.held.splice(0));
        }
        this.bursts.clear();
    }

    private handOn(user: string, b: Burst, events: VmEvent[]): void {
        b.lastFlush = Date.now();
        this.flush(user, events);
        // Forget the user once quiet again, so the map follows active users only.
        if (b.idle) b.idle.refresh();
        else
            b.idle = setTimeout(() => {
                b.idle = undefined;
                if (!b.timer && this.bursts.get(user) === b) this.bursts.delete(user);
            }, this.opts.windowMs).unref();
    }
}
