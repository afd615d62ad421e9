// The PUB bus: every event, one frame each (`<user>\t<type>\t<json>`, see wire/frame.ts), so any
// SUB socket can filter by user and type prefix. PUB never blocks a sender: when a subscriber's
// buffer is full nanomsg drops frames for it — catch-up comes from the journal, not from PUB.
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import nano, { type Socket } from 'nanomsg';
import { ipcPath } from './bus-address.js';
import type { VmEvent } from '../events/event.js';
import type { EventSink } from '../events/sink.js';
import type { Logger } from '../log.js';
import * as metrics from '../metrics.js';
import { encodeFrame } from '../wire/frame.js';

const SNDBUF = 4 * 1024 * 1024; // room for bursts (a STORE 1:500 is ~1,000 events)
const DRAIN_MS = 2000; // at most, for node-nanomsg's queue to reach the socket at shutdown
const LINGER_MS = 500; // after the last send, for nanomsg's pipes to reach the subscribers

export class Bus implements EventSink {
    private sock?: Socket;
    private lastSend = 0;

    constructor(
        private readonly url: string,
        private readonly log: Logger
    ) {}

    /** Binds the PUB socket; throws when the address cannot be bound. */
    start(): void {
        const file = ipcPath(this.url);
        if (file) mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o750 });
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
        if (!this.sock) return;
        this.sock.send(encodeFrame(ev));
        this.lastSend = Date.now();
        metrics.events.inc({ type: ev.type });
    }

    /** Closes after the frames sent so far had time to leave: nn_close discards what nanomsg still
     * holds (it has no linger), so the last events before SIGTERM would never reach subscribers. */
    async stop(): Promise<void> {
        const sock = this.sock;
        this.sock = undefined;
        if (!sock) return;
        const queue = (sock as unknown as { queue?: unknown[] }).queue ?? []; // node-nanomsg's own send queue
        const deadline = Date.now() + DRAIN_MS;
        while (queue.length && Date.now() < deadline) await setTimeout(5);
        const linger = this.lastSend + LINGER_MS - Date.now();
        if (linger > 0) await setTimeout(linger);
        sock.close();
    }
}
