// An AsyncIterable of events over one receiving socket (nanomsg SUB or PULL, or subscribe()'s own PULL). Frames that do not
// decode are dropped, never thrown; the socket closes (and cleanup runs) when the iteration ends,
// close() is called or the signal aborts. A bounded buffer protects a slow consumer's memory:
// past `limit` waiting events the oldest are dropped (counted in `dropped`) behind a `reset`.
// With `cursor`, a per-user stream hands events on in seq order and catches up from the journal (cursor.ts).
import type { VmEvent } from '../events/event.js';
import { CursorGate, type CursorOptions } from './cursor.js';
import { resetEvent } from '../publish/journal.js';
import { STREAM_QUEUE_LIMIT } from '../limits.js';
import type { FrameSource } from './receive.js';

export interface StreamOptions {
    signal?: AbortSignal;
    /** Events buffered for a slow consumer before the oldest are dropped (default 10 000). */
    limit?: number;
    cleanup?: () => Promise<void>;
    cursor?: CursorOptions;
}

export class EventStream implements AsyncIterable<VmEvent> {
    /** Resolves when the stream is set up (subscribe: bound and registered); rejects if it cannot start. */
    ready: Promise<void> = Promise.resolve();
    dropped = 0;
    /** Set with the cursor option; whoever builds the stream starts it once live events can arrive. */
    readonly gate?: CursorGate;
    private readonly queue: VmEvent[] = [];
    private overflowMark?: VmEvent;
    private lastYielded?: number;
    private wake?: () => void;
    private ended = false;
    private error?: unknown;
    private closing?: Promise<void>;

    constructor(
        private readonly source: FrameSource,
        decode: (frame: Buffer) => VmEvent | null,
        private readonly opts: StreamOptions = {}
    ) {
        if (opts.cursor) this.gate = new CursorGate(opts.cursor, ev => this.enqueue(ev));
        source.start(frame => {
            const ev = decode(frame);
            if (!ev || this.ended) return;
            if (this.gate) this.gate.live(ev);
            else this.enqueue(ev);
        });
        if (opts.signal?.aborted) void this.close();
        opts.signal?.addEventListener('abort', () => void this.close(), { once: true });
    }

    /** The seq of the last event handled (yielded, or skipped by the type filter): resume from it. */
    get cursor(): number | undefined {
        return this.queue.length ? this.lastYielded : (this.gate?.position ?? this.lastYielded);
    }

    /** Ends the stream with an error (thrown from the pending or next iteration step). */
    fail(err: unknown): void {
        this.error ??= err;
        void this.close();
    }

    close(): Promise<void> {
        this.closing ??= (async () => {
            this.ended = true;
            this.gate?.stop();
            this.wakeUp();
            this.source.close();
            await this.opts.cleanup?.();
        })();
        return this.closing;
    }

    [Symbol.asyncIterator](): AsyncIterator<VmEvent> {
        return {
            next: () => this.next(),
            return: async () => {
                await this.close();
                return { done: true, value: undefined };
            }
        };
    }

    private async next(): Promise<IteratorResult<VmEvent>> {
        for (;;) {
            const ev = this.queue.shift();
            if (ev) {
                if (ev.seq !== undefined) this.lastYielded = ev.seq;
                return { done: false, value: ev };
            }
            if (this.ended) {
                await this.closing;
                if (this.error !== undefined) {
                    const err = this.error;
                    this.error = undefined;
                    throw err;
                }
                return { done: true, value: undefined };
            }
            await new Promise<void>(resolve => (this.wake = resolve));
        }
    }

    private enqueue(ev: VmEvent): void {
        if (this.ended) return;
        if (this.queue.length >= (this.opts.limit ?? STREAM_QUEUE_LIMIT)) this.overflow();
        this.queue.push(ev);
        this.wakeUp();
    }

    /** Drops the oldest waiting event; the head becomes one `reset` (client-overflow) whose seq is
     * the newest dropped one, so the consumer sees it must resync, and from where. */
    private overflow(): void {
        this.dropped++;
        const head = this.queue[0];
        const marked = this.overflowMark === head;
        const gone = (marked && this.queue.splice(1, 1)[0]) || head;
        const mark = resetEvent(this.opts.cursor?.user ?? gone.user, 'client-overflow', gone.seq ?? (marked ? head.seq : undefined));
        this.queue[0] = this.overflowMark = mark;
    }

    private wakeUp(): void {
        const w = this.wake;
        this.wake = undefined;
        w?.();
    }
}
