// A PUSH socket speaking nanomsg's SP wire (wire/sp.ts) to one PULL endpoint over tcp:// or ipc://,
// on Node's own socket: the frames a PushEndpoint hands over in one turn leave as ONE write, and
// the PULL side (a subscribe() stream, an OpenChange session's nanomsg socket) reads them as
// separate messages. Like nanomsg's PUSH it redials a lost or refused peer with a growing delay,
// and takes nothing while it has no peer (the endpoint queues, bounded, and times out).
import { connect, type Socket } from 'node:net';
import { SP, spHandshake, spMessages, type SpAddress } from '../wire/sp.js';
import { PUSH_HIGH_WATER, SP_HANDSHAKE_MS } from '../limits.js';
import type { PushTransport } from './push-transport.js';

export interface SpPushOptions {
    reconnectMinMs: number;
    reconnectMaxMs: number;
}

export class SpPush implements PushTransport {
    private sock?: Socket;
    private ready = false;
    private closed = false;
    private delay: number;
    private redial?: NodeJS.Timeout;
    private writable?: () => void;
    private readonly ipc: boolean;

    constructor(
        private readonly address: SpAddress,
        private readonly opts: SpPushOptions
    ) {
        this.ipc = 'path' in address;
        this.delay = opts.reconnectMinMs;
        this.dial();
    }

    send(frames: readonly Buffer[]): number {
        const sock = this.sock;
        if (!this.ready || !sock || sock.writableLength > PUSH_HIGH_WATER || !frames.length) return 0;
        sock.write(spMessages(frames, this.ipc));
        return frames.length;
    }

    waitWritable(cb: () => void): void {
        this.writable = cb;
    }

    stopWaiting(): void {
        this.writable = undefined;
    }

    close(): void {
        this.closed = true;
        this.writable = undefined;
        clearTimeout(this.redial);
        // What was written still leaves (nanomsg's linger 0 discarded it); a peer that takes
        // nothing does not keep the socket past the handshake time.
        const sock = this.sock;
        this.sock = undefined;
        sock?.end();
        if (sock) setTimeout(() => sock.destroy(), SP_HANDSHAKE_MS).unref();
    }

    private dial(): void {
        const sock = connect(this.address);
        this.sock = sock;
        if (!this.ipc) sock.setNoDelay(true);
        sock.on('error', () => sock.destroy());
        sock.on('close', () => this.lost(sock));
        sock.on('drain', () => this.wake());
        spHandshake(sock, SP.PUSH, SP.PULL, SP_HANDSHAKE_MS, ok => {
            if (!ok) return void sock.destroy();
            if (sock !== this.sock) return;
            this.ready = true;
            this.delay = this.opts.reconnectMinMs;
            this.wake();
        });
    }

    private lost(sock: Socket): void {
        if (sock !== this.sock) return;
        this.sock = undefined;
        this.ready = false;
        if (this.closed) return;
        this.redial = setTimeout(() => this.dial(), this.delay);
        this.redial.unref();
        this.delay = Math.min(this.opts.reconnectMaxMs, this.delay * 2);
    }

    private wake(): void {
        const cb = this.writable;
        this.writable = undefined;
        cb?.();
    }
}
