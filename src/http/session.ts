// One client's stream, whatever the transport (SSE or WebSocket): subscribe to the live fan-out
// first and buffer, replay the journal from the cursor, then hand on the buffered live events
// with a seq above the last replayed one — so the seam has neither a gap nor a duplicate. A
// client that cannot keep up (buffer full, or the socket's unsent bytes past a bound) gets a
// `reset` (client-overflow) and is closed rather than growing memory; it reconnects from its
// cursor.
import type { VmEvent } from '../events/event.js';
import { resetEvent } from '../publish/journal.js';
import { HTTP_CLIENT_BUFFER } from '../limits.js';
import type { StreamHub } from './hub.js';
import { httpStreams } from '../metrics.js';

export type ReplayFn = (user: string, since: number, limit: number) => Promise<VmEvent[]>;

export interface Transport {
    /** Writes one event; false when the client is too slow (unsent bytes past the bound). */
    send(ev: VmEvent): boolean;
    close(): void;
}

export interface SessionOptions {
    user: string;
    /** Replay from this cursor first; undefined: live only. */
    since?: number;
    /** Only these types are sent (reset always is). */
    types?: ReadonlySet<string>;
    replay: ReplayFn;
    /** Events per replay page. */
    pageSize: number;
    hub: StreamHub;
    transport: Transport;
    bufferMax?: number;
}

export class StreamSession {
    private pending: VmEvent[] | undefined = [];
    private last = 0;
    private closed = false;
    private readonly unsubscribe: () => void;

    constructor(private readonly o: SessionOptions) {
        this.unsubscribe = o.hub.add(o.user, { deliver: ev => this.live(ev) });
        httpStreams.inc({ event: 'opened' });
    }

    /** Replays (when a cursor was given) and goes live; a replay failure closes the stream. */
    async start(): Promise<void> {
        try {
            if (this.o.since !== undefined) await this.catchUp(this.o.since);
        } catch {
            this.overflow('replay-unavailable');
            return;
        }
        const held = this.pending ?? [];
        this.pending = undefined;
        for (const ev of held) if (!this.closed) this.forward(ev);
    }

    close(): void {
        if (this.closed) return;
        this.closed = true;
        httpStreams.inc({ event: 'closed' });
        this.unsubscribe();
        this.o.transport.close();
    }

    private async catchUp(since: number): Promise<void> {
        this.last = since;
        for (;;) {
            const page = await this.o.replay(this.o.user, this.last, this.o.pageSize);
            if (this.closed) return;
            let sequenced = 0;
            for (const ev of page) {
                if (ev.type === 'reset') this.last = ev.seq ?? this.last;
                else if (ev.seq !== undefined) {
                    this.last = ev.seq;
                    sequenced++;
                }
                if (!this.write(ev)) return;
            }
            if (sequenced < this.o.pageSize) return; // the journal had no more
        }
    }

    private live(ev: VmEvent): void {
        if (this.closed) return;
        if (this.pending) {
            if (this.pending.length >= (this.o.bufferMax ?? HTTP_CLIENT_BUFFER)) return this.overflow('client-overflow');
            this.pending.push(ev);
            return;
        }
        this.forward(ev);
    }

    /** A live event: dropped when the replay already gave it. */
    private forward(ev: VmEvent): void {
        if (ev.seq !== undefined) {
            if (ev.seq <= this.last) return;
            this.last = ev.seq;
        }
        this.write(ev);
    }

    private write(ev: VmEvent): boolean {
        if (ev.type !== 'reset' && this.o.types && !this.o.types.has(ev.type)) return true;
        if (this.o.transport.send(ev)) return true;
        this.overflow('client-overflow');
        return false;
    }

    private overflow(reason: 'client-overflow' | 'replay-unavailable'): void {
        if (this.closed) return;
        httpStreams.inc({ event: 'overflow' });
        // The cursor to reconnect from is the last event the client was given.
        this.o.transport.send(resetEvent(this.o.user, reason, this.last));
        this.close();
    }
}
