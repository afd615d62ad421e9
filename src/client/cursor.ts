// Client-side catch-up for one user's stream: hands events on in seq order, exactly once.
// With a cursor (`since`) it first replays what was missed; live events that arrive meanwhile are
// held and those the replay already covered are skipped, so the seam has neither gap nor
// duplicate. Later, a seq jump (a frame dropped by PUB, a bridge restart, another instance's
// event still on its way) is given `gapWaitMs` to close by itself, then filled from the journal.
// What the journal cannot give arrives as a `reset` (resync), never as a silent gap. Events
// without seq (bridge could not reach memcached) pass straight through.
import type { EventType, VmEvent } from '../events/event.js';
import type { Logger } from '../log.js';
import { resetEvent } from '../publish/journal.js';
import { CURSOR_RECENT_IDS, CURSOR_CHECK_MS, CURSOR_GAP_WAIT_MS } from '../limits.js';

export interface CursorOptions {
    user: string;
    /** Resume after this seq; without it the stream starts at the journal's newest seq. */
    since?: number;
    /** The journal: events after a seq, or a reset (publish/journal.ts replay()). */
    replay: (since: number) => Promise<VmEvent[]>;
    /** Types handed on (resets always are); the position advances over the others. */
    types?: EventType[];
    /** How long a seq gap may stay open before it is filled from the journal (default 1 s). */
    gapWaitMs?: number;
    /** While quiet, ask the journal this often whether anything was missed, e.g. over a
     * reconnect with nothing after it to reveal the gap (default 30 s; 0 = never). */
    checkMs?: number;
    logger?: Logger;
}

export class CursorGate {
    private last?: number;
    private readonly held = new Map<number, VmEvent>();
    private readonly recent = new Set<string>();
    private fetching = false;
    private timer?: NodeJS.Timeout;
    private check?: NodeJS.Timeout;
    private stopped = false;

    constructor(
        private readonly opts: CursorOptions,
        private readonly deliver: (ev: VmEvent) => void
    ) {
        this.last = opts.since;
    }

    /** The last seq handed on or skipped. */
    get position(): number | undefined {
        return this.last;
    }

    /** Call once live events can arrive: replays from `since`, or anchors at the journal's newest
     * seq (so events sequenced after this point are all handed on, in order). Never rejects. */
    start(): Promise<void> {
        const every = this.opts.checkMs ?? CURSOR_CHECK_MS;
        if (every > 0) this.check = setInterval(() => void this.fill(true), every).unref();
        return this.last !== undefined ? this.fill() : this.anchor();
    }

    stop(): void {
        this.stopped = true;
        clearTimeout(this.timer);
        clearInterval(this.check);
    }

    live(ev: VmEvent): void {
        if (this.stopped) return;
        if (ev.seq === undefined) return this.out(ev);
        if (this.last === undefined && !this.fetching) this.last = ev.seq - 1;
        if (this.last !== undefined && ev.seq <= this.last) {
            // seq 1 we have not seen: the counter started over (memcached flushed or restarted).
            if (ev.seq !== 1 || this.recent.has(ev.id)) return;
            this.out(resetEvent(this.opts.user, 'sequence-restarted', 0));
            this.last = 0;
            this.held.clear();
        }
        this.held.set(ev.seq, ev);
        if (!this.fetching) this.drain();
    }

    /** A cursor past the newest seq is answered with a cursor-ahead reset carrying that seq. */
    private async anchor(): Promise<void> {
        this.fetching = true;
        try {
            const [r] = await this.opts.replay(Number.MAX_SAFE_INTEGER);
            if (r?.type === 'reset' && r.seq !== undefined) this.last = r.seq;
        } catch (err) {
            this.opts.logger?.debug({ err, user: this.opts.user }, 'no journal position; starting from the first live event');
        } finally {
            this.fetching = false;
        }
        if (this.stopped) return;
        // Without a position the oldest live event held sets it; events up to the position are history.
        if (this.last === undefined && this.held.size) this.last = Math.min(...this.held.keys()) - 1;
        if (this.last !== undefined) this.moveTo(this.last);
        this.drain();
    }

    private drain(): void {
        this.advance();
        if (!this.held.size) {
            clearTimeout(this.timer);
            this.timer = undefined;
        } else {
            this.timer ??= setTimeout(() => {
                this.timer = undefined;
                void this.fill();
            }, this.opts.gapWaitMs ?? CURSOR_GAP_WAIT_MS);
        }
    }

    private advance(): void {
        for (let next = this.held.get(this.last! + 1); next; next = this.held.get(this.last! + 1)) {
            this.held.delete(next.seq!);
            this.last = next.seq!;
            this.out(next);
        }
    }

    /** periodic: nothing is known to be missing, so a failure is only logged. */
    private async fill(periodic = false): Promise<void> {
        if (this.fetching || this.stopped || this.last === undefined) return;
        this.fetching = true;
        clearTimeout(this.timer);
        this.timer = undefined;
        try {
            const events = await this.opts.replay(this.last);
            if (this.stopped) return;
            for (const ev of events) {
                if (ev.seq === undefined)
                    this.out(ev); // the mwi snapshot after a reset
                else if (ev.type === 'reset' && ev.seq !== this.last + 1) {
                    // The journal lost events (or started over): resync, and go on from the reset's seq.
                    this.out(ev);
                    this.moveTo(ev.seq);
                } else if (ev.seq > this.last) {
                    this.held.set(ev.seq, ev);
                    this.advance();
                }
            }
        } catch (err) {
            if (this.stopped) return;
            if (periodic && !this.held.size) {
                this.opts.logger?.debug({ err, user: this.opts.user }, 'journal check failed');
                return;
            }
            this.opts.logger?.warn({ err, user: this.opts.user }, 'replay failed; telling the consumer to resync');
            this.out(resetEvent(this.opts.user, 'replay-unavailable'));
            if (this.held.size) this.moveTo(Math.min(...this.held.keys()) - 1);
        } finally {
            this.fetching = false;
        }
        this.drain();
    }

    private moveTo(seq: number): void {
        this.last = seq;
        for (const s of this.held.keys()) if (s <= this.last) this.held.delete(s);
    }

    private out(ev: VmEvent): void {
        this.recent.add(ev.id);
        if (this.recent.size > CURSOR_RECENT_IDS) this.recent.delete(this.recent.values().next().value!);
        if (ev.type !== 'reset' && this.opts.types && !this.opts.types.includes(ev.type)) return;
        this.deliver(ev);
    }
}
