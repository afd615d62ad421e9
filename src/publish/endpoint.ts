// One PUSH socket per endpoint URL, reused across events (push-transport.ts: our SP socket for
// tcp/ipc, nanomsg's for the rest). node-nanomsg's own send queue is unbounded (and blocks or
// spins on a dead peer), so frames wait in a bounded queue here and leave once per turn (one
// write for the turn's frames): when nothing leaves for sendTimeoutMs the endpoint backs off
// (growing) and retries then; a full queue drops its oldest frame, so what arrives is the newest
// and a subscriber sees the seq gap (and fills it from the journal). Nothing here
// ever blocks the event loop; every drop is counted in vmbridge_push_drops_total{reason}.
import type { Logger } from '../log.js';
import { pushDrops } from '../metrics.js';
import { pushTransport, type PushTransport } from './push-transport.js';

export interface EndpointOptions {
    queueLimit: number;
    sendTimeoutMs: number;
    idleMs: number;
    backoffMinMs: number;
    backoffMaxMs: number;
    logger?: Logger;
}

export type DropReason = 'queue_full' | 'timeout' | 'backoff' | 'error' | 'no_uid';

export function countDrop(reason: DropReason, n = 1): void {
    if (n > 0) pushDrops.inc({ reason }, n);
}

export class PushEndpoint {
    private sock?: PushTransport;
    private queue: Buffer[] = [];
    private scheduled = false;
    private failures = 0;
    private backoffUntil = 0;
    private deadline?: NodeJS.Timeout;
    private retry?: NodeJS.Timeout;
    private idle?: NodeJS.Timeout;
    private closed = false;

    constructor(
        readonly url: string,
        private readonly opts: EndpointOptions,
        private readonly onIdle: (ep: PushEndpoint) => void
    ) {}

    /** Queues a frame; returns false when it was dropped. */
    send(frame: Buffer): boolean {
        if (this.closed) return false;
        this.touch();
        if (!this.open()) return drop('error');
        const backingOff = Date.now() < this.backoffUntil;
        // Full: the oldest frame goes, so the newest (whose seq reveals the gap) still arrives.
        if (this.queue.length >= this.opts.queueLimit) {
            this.queue.shift();
            countDrop(backingOff ? 'backoff' : 'queue_full');
        }
        this.queue.push(frame);
        // else the retry timer sends what is queued then; the turn's frames leave together
        if (!backingOff && !this.scheduled) {
            this.scheduled = true;
            process.nextTick(() => {
                this.scheduled = false;
                this.pump();
            });
        }
        return true;
    }

    close(): void {
        if (this.closed) return;
        if (Date.now() >= this.backoffUntil) this.sendNow(); // what this turn queued still leaves
        this.closed = true;
        countDrop('error', this.queue.length);
        this.queue.length = 0;
        this.stopWaiting();
        clearTimeout(this.retry);
        clearTimeout(this.idle);
        this.sock?.close();
        this.sock = undefined;
    }

    private open(): boolean {
        this.sock ??= pushTransport(this.url, this.opts.logger);
        return this.sock !== undefined;
    }

    /** Sends what the socket takes now; else waits for writability, bounded by the deadline. */
    private pump(): void {
        if (!this.sock || this.closed) return;
        this.sendNow();
        if (!this.queue.length) return this.stopWaiting();
        this.sock.waitWritable(() => this.pump());
        this.deadline ??= setTimeout(() => this.timedOut(), this.opts.sendTimeoutMs).unref();
    }

    private sendNow(): void {
        if (!this.sock || !this.queue.length) return;
        const taken = this.sock.send(this.queue, () => countDrop('error'));
        if (!taken) return;
        this.queue = taken === this.queue.length ? [] : this.queue.slice(taken);
        this.failures = 0;
        // Progress: a slow but live peer is not timed out (only one that takes nothing is).
        clearTimeout(this.deadline);
        this.deadline = undefined;
    }

    private stopWaiting(): void {
        this.sock?.stopWaiting();
        clearTimeout(this.deadline);
        this.deadline = undefined;
    }

    private timedOut(): void {
        this.deadline = undefined;
        if (!this.queue.length) return;
        // The queue (bounded, newest kept) is retried after the backoff, so a peer that comes
        // back gets the newest events at once and sees the gap before them.
        this.stopWaiting();
        this.failures++;
        const wait = Math.min(this.opts.backoffMaxMs, this.opts.backoffMinMs * 2 ** (this.failures - 1));
        this.backoffUntil = Date.now() + wait;
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.pump(), wait).unref();
        this.opts.logger?.warn({ url: this.url, failures: this.failures, backoffMs: wait }, 'push endpoint not accepting frames; skipping it for a while');
    }

    private touch(): void {
        // refresh(): the same timer restarted, not a new one per frame (20,000 frames/s)
        if (this.idle) return void this.idle.refresh();
        this.idle = setTimeout(() => {
            this.close();
            this.onIdle(this);
        }, this.opts.idleMs);
        this.idle.unref();
    }
}

function drop(reason: DropReason): false {
    countDrop(reason);
    return false;
}
