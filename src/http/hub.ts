// The client listener's view of the event front: an EventSink (added after the journal, like the
// bus) that hands each sequenced event to the streams of its user. One Map lookup per event, so a
// thousand idle clients cost nothing per event of another user.
import type { VmEvent } from '../events/event.js';
import type { EventSink } from '../events/sink.js';

export interface Listener {
    deliver(ev: VmEvent): void;
}

export class StreamHub implements EventSink {
    private readonly byUser = new Map<string, Set<Listener>>();

    emit(ev: VmEvent): void {
        const set = this.byUser.get(ev.user);
        if (set) for (const l of set) l.deliver(ev);
    }

    add(user: string, l: Listener): () => void {
        let set = this.byUser.get(user);
        if (!set) this.byUser.set(user, (set = new Set()));
        set.add(l);
        return () => {
            set!.delete(l);
            if (set!.size === 0 && this.byUser.get(user) === set) this.byUser.delete(user);
        };
    }

    /** Streams open now (a gauge). */
    get clients(): number {
        let n = 0;
        for (const s of this.byUser.values()) n += s.size;
        return n;
    }
}
