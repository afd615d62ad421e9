// One PUSH socket per endpoint URL, reused across events. node-nanomsg's own send queue is
// unbounded (and blocks or spins on a dead peer), so frames go through the raw non-blocking
// nn_send with a bounded queue here: when nothing leaves for sendTimeoutMs the endpoint backs off
// (growing) and retries then; a full queue drops its oldest frame, so what arrives is the newest
// and a subscriber sees the seq gap (and fills it from the journal). Nothing here
// ever blocks the event loop; every drop is counted in vmbridge_push_drops_total{reason}.
import nano, { type Socket } from 'nanomsg';
import type { Logger } from '../log.js';
import { pushDrops } from '../metrics.js';
import { PUSH_RECONNECT_MIN_MS, PUSH_RECONNECT_MAX_MS } from '../limits.js';

const nn = nano._bindings;

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
    private sock?: Socket;
    private poll?: object;
    private readonly queue: Buffer[] = [];
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
        if (!backingOff) this.pump(); // else the retry timer sends what is queued then
        return true;
    }

    close(): void {
        if (this.closed) return;
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
        if (this.sock) return true;
        try {
            // reconn/maxreconn: a dead peer is redialled with backoff up to 5 s, not every 100 ms.
            const sock = nano.socket('push', { dontwait: true, linger: 0, reconn: PUSH_RECONNECT_MIN_MS, maxreconn: PUSH_RECONNECT_MAX_MS });
            sock.on('error', err => this.opts.logger?.warn({ err, url: this.url }, 'push socket error'));
            if (sock.connect(this.url) === null) {
                sock.close();
                return false;
            }
            this.sock = sock;
            return true;
        } catch (err) {
            this.opts.logger?.warn({ err, url: this.url }, 'push socket could not be created');
            return false;
        }
    }

    /** Sends what the socket takes now; on EAGAIN waits for writability, bounded by the deadline. */
    private pump(): void {
        const sock = this.sock;
        if (!sock) return;
        while (this.queue.length) {
            const rc = nn.Send(sock.binding, this.queue[0], nn.NN_DONTWAIT);
            if (rc >= 0) {
                this.queue.shift();
                this.failures = 0;
                // Progress: a slow but live peer is not timed out (only one that takes nothing is).
                clearTimeout(this.deadline);
                this.deadline = undefined;
                continue;
            }
            if (nn.Errno() !== nn.EAGAIN) {
                this.opts.logger?.warn({ url: this.url, error: nn.Err() }, 'push send failed');
                this.queue.shift();
                countDrop('error');
                continue;
            }
            this.waitWritable();
            return;
        }
        this.stopWaiting();
    }

    private waitWritable(): void {
        if (!this.sock) return;
        this.poll ??= nn.PollSocket(this.sock.binding, true, () => this.pump());
        this.deadline ??= setTimeout(() => this.timedOut(), this.opts.sendTimeoutMs).unref();
    }

    private stopWaiting(): void {
        if (this.poll) nn.PollStop(this.poll);
        this.poll = undefined;
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
