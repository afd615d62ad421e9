// The PUB bus: every event, one frame each (`<user>\t<type>\t<json>`, see wire/frame.ts), so any
// SUB socket can filter by user and type prefix. PUB never blocks a sender: when a subscriber's
// buffer is full its frames are dropped — catch-up comes from the journal, not from PUB.
// tcp:// and ipc:// (the default) are served by sp-pub.ts (one write per subscriber per turn),
// inproc:// and ws:// by nanomsg's own PUB socket.
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import nano, { type Socket } from 'nanomsg';
import { ipcPath } from './bus-address.js';
import type { VmEvent } from '../events/event.js';
import type { EventSink } from '../events/sink.js';
import type { Logger } from '../log.js';
import * as metrics from '../metrics.js';
import { encodeFrame, frameText } from '../wire/frame.js';
import { SpPub } from './sp-pub.js';
import { spAddress } from '../wire/sp.js';
import { SP_HANDSHAKE_MS, BUS_HIGH_WATER, BUS_HIGH_WATER_TOTAL, SP_MAX_PEERS } from '../limits.js';

const nn = nano._bindings;
const BUS_ERROR_LOG_MS = 30_000; // a failing send logs once per interval, not per event
const SNDBUF = 4 * 1024 * 1024; // room for bursts (a STORE 1:500 is ~1,000 events)
const LINGER_MS = 500; // after the last send, for nanomsg's pipes to reach the subscribers

export class Bus implements EventSink {
    private sock?: Socket;
    private pub?: SpPub;
    private lastSend = 0;
    private lastError = 0;

    constructor(
        private readonly url: string,
        private readonly log: Logger
    ) {}

    /** Binds the PUB socket; rejects when the address cannot be bound. */
    async start(): Promise<void> {
        const file = ipcPath(this.url);
        if (file) mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o750 });
        const address = spAddress(this.url);
        if (address) {
            this.pub = await SpPub.listen(address, {
                highWater: BUS_HIGH_WATER,
                highWaterTotal: BUS_HIGH_WATER_TOTAL,
                maxPeers: SP_MAX_PEERS,
                handshakeMs: SP_HANDSHAKE_MS,
                onDrop: n => this.dropped(n),
                onError: err => this.log.warn({ err }, 'bus socket error')
            }).catch(err => {
                throw new Error(`cannot bind the bus at ${this.url}: ${(err as Error).message}`);
            });
            return;
        }
        const sock = nano.socket('pub', { sndbuf: SNDBUF });
        let bindError: Error | undefined;
        sock.on('error', (err: Error) => {
            bindError = err;
            this.log.warn({ err }, 'bus socket error');
        });
        if (sock.bind(this.url) == null) {
            sock.close();
            throw new Error(`cannot bind the bus at ${this.url}: ${bindError?.message ?? 'unknown error'}`);
        }
        // The socket file exists once bind returned: the vmbridge group may connect, no one else.
        if (file) chmodSync(file, 0o660);
        this.sock = sock;
    }

    emit(ev: VmEvent): void {
        if (this.pub) {
            this.pub.send(frameText(ev));
            metrics.events.inc({ type: ev.type });
            return;
        }
        if (!this.sock) return;
        // Straight to nn_send: PUB never blocks (a full subscriber loses the frame inside nanomsg),
        // so node-nanomsg's queue and writability poll (one poll callback per frame) buy nothing.
        if (nn.Send(this.sock.binding, encodeFrame(ev), nn.NN_DONTWAIT) < 0) this.sendFailed();
        this.lastSend = Date.now();
        metrics.events.inc({ type: ev.type });
    }

    private dropped(frames: number): void {
        metrics.busDrops.inc(frames);
        const now = Date.now();
        if (now - this.lastError < BUS_ERROR_LOG_MS) return;
        this.lastError = now;
        this.log.warn({ frames }, 'bus subscriber too slow; frames dropped for it (it catches up from the journal)');
    }

    private sendFailed(): void {
        const now = Date.now();
        if (now - this.lastError < BUS_ERROR_LOG_MS) return;
        this.lastError = now;
        this.log.warn({ error: nn.Err() }, 'bus send failed');
    }

    /** Closes after the frames sent so far had time to leave: nn_close discards what nanomsg still
     * holds (it has no linger), so the last events before SIGTERM would never reach subscribers. */
    async stop(): Promise<void> {
        const pub = this.pub;
        this.pub = undefined;
        if (pub) return pub.close(LINGER_MS);
        const sock = this.sock;
        this.sock = undefined;
        if (!sock) return;
        const linger = this.lastSend + LINGER_MS - Date.now();
        if (linger > 0) await setTimeout(linger);
        sock.close();
    }
}
