// A PUB socket speaking nanomsg's SP wire (RFC sp-tcp-mapping / the ipc mapping: an 8-byte
// protocol header each way, then length-prefixed messages) on Node's own sockets, for tcp:// and
// ipc:// buses. Why not nanomsg's PUB: it writes every frame to every subscriber's pipe with one
// syscall each in the caller's thread (37 % of the bridge's busy time at 25,000 events/s, 10 SUB
// sockets), and holds one message per pipe. Here the frames queued in one event-loop turn go to
// each subscriber as ONE write of the same buffer. Frames stay one event each on the wire; nanomsg
// SUB sockets (subscribers, `listen`) read them unchanged and filter by prefix themselves (SP PUB
// sends everything; subscriptions never travel).
// Never blocks the sender: a subscriber with more than `highWater` bytes unsent (or its share of
// `highWaterTotal`) loses the turn's frames (counted), as nanomsg's PUB drops for a full pipe —
// catch-up is the journal's job. At most `maxPeers` connections: memory stays bounded whatever
// connects.
import { createServer, type Server, type Socket } from 'node:net';
import { listenAt } from '../net/unix-listen.js';
import { once } from 'node:events';
import { SP, spHandshake, spMessages, type SpAddress } from '../wire/sp.js';

export interface SpPubOptions {
    /** Bytes a subscriber may have unsent before frames for it are dropped. */
    highWater: number;
    /** … and all subscribers together: each gets at most its share of this. */
    highWaterTotal: number;
    /** Connections taken at once (handshaken or not); more are closed on accept. */
    maxPeers: number;
    /** A connection that has not sent a SUB protocol header by then is closed. */
    handshakeMs: number;
    /** Called with the number of frames a slow subscriber lost. */
    onDrop?: (frames: number) => void;
    /** An error of the listening socket after it was bound (e.g. EMFILE on accept): logged, never thrown. */
    onError?: (err: Error) => void;
}

export class SpPub {
    private readonly peers = new Set<Socket>();
    private readonly conns = new Set<Socket>();
    private readonly ipc: boolean;
    private texts: string[] = [];
    private bytes = 0;
    private scheduled = false;

    private constructor(
        private readonly server: Server,
        address: SpAddress,
        private readonly opts: SpPubOptions
    ) {
        this.ipc = 'path' in address;
    }

    /** Listens at the address; rejects when it cannot bind (an ipc file nobody listens on is replaced, as nanomsg does). */
    static async listen(address: SpAddress, opts: SpPubOptions): Promise<SpPub> {
        const server = createServer({ noDelay: true });
        server.maxConnections = opts.maxPeers;
        const pub = new SpPub(server, address, opts);
        server.on('connection', sock => pub.accept(sock));
        await listenAt(server, address, 0o660); // the vmbridge group's subscribers may connect, no one else
        // An 'error' without a listener would throw out of the event loop.
        server.on('error', err => opts.onError?.(err));
        return pub;
    }

    /** Subscribers that completed the handshake. */
    get subscribers(): number {
        return this.peers.size;
    }

    /** Bytes not yet taken by the kernel for the most behind subscriber. */
    get backlog(): number {
        let most = 0;
        for (const p of this.peers) most = Math.max(most, p.writableLength);
        return most;
    }

    /** Queues one message; the turn's messages leave together. */
    send(text: string): void {
        this.texts.push(text);
        this.bytes += Buffer.byteLength(text);
        if (this.scheduled) return;
        this.scheduled = true;
        // After the turn's microtasks: every sequencer batch settled by the same memcached read shares the write.
        process.nextTick(() => this.flush());
    }

    /** Writes what is queued, one buffer for all subscribers. */
    flush(): void {
        this.scheduled = false;
        const texts = this.texts;
        if (!texts.length) return;
        const buf = spMessages(texts, this.ipc, this.bytes);
        this.texts = [];
        this.bytes = 0;
        const limit = Math.min(this.opts.highWater, this.opts.highWaterTotal / Math.max(1, this.peers.size));
        for (const peer of this.peers) {
            if (peer.writableLength > limit) this.opts.onDrop?.(texts.length);
            else peer.write(buf);
        }
    }

    /** Sends what is queued, lets it leave for at most lingerMs, then closes everything. */
    async close(lingerMs: number): Promise<void> {
        this.flush();
        const closed = once(this.server, 'close');
        this.server.close();
        for (const c of this.conns) if (!this.peers.has(c)) c.destroy();
        const deadline = setTimeout(() => this.peers.forEach(p => p.destroy()), lingerMs);
        // Not events.once: it rejects on the 'error' (a reset) that a destroyed peer may emit first.
        await Promise.all([...this.peers].map(p => new Promise(r => (p.once('close', r), p.end()))));
        clearTimeout(deadline);
        await closed;
    }

    private accept(sock: Socket): void {
        this.conns.add(sock);
        sock.on('error', () => sock.destroy());
        sock.on('close', () => {
            this.conns.delete(sock);
            this.peers.delete(sock);
        });
        spHandshake(sock, SP.PUB, SP.SUB, this.opts.handshakeMs, ok => {
            if (!ok) return void sock.destroy();
            if (!sock.destroyed) this.peers.add(sock);
        });
    }
}
