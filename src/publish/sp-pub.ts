// A PUB socket speaking nanomsg's SP wire (RFC sp-tcp-mapping / the ipc mapping: an 8-byte
// protocol header each way, then length-prefixed messages) on Node's own sockets, for tcp:// and
// ipc:// buses. Why not nanomsg's PUB: it writes every frame to every subscriber's pipe with one
// syscall each in the caller's thread (37 % of the bridge's busy time at 25,000 events/s, 10 SUB
// sockets), and holds one message per pipe. Here the frames queued in one event-loop turn go to
// each subscriber as ONE write of the same buffer. Frames stay one event each on the wire; nanomsg
// SUB sockets (subscribers, `listen`) read them unchanged and filter by prefix themselves (SP PUB
// sends everything; subscriptions never travel).
// Never blocks the sender: a subscriber with more than `highWater` bytes unsent loses the turn's
// frames (counted), as nanomsg's PUB drops for a full pipe — catch-up is the journal's job.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { unlinkSync } from 'node:fs';
import { once } from 'node:events';

const NN_PUB = 0x20;
const NN_SUB = 0x21;
const IPC_MSG_NORMAL = 1;
const HEADER = Buffer.from([0, 0x53, 0x50, 0, 0, NN_PUB, 0, 0]);

export interface SpPubOptions {
    /** Bytes a subscriber may have unsent before frames for it are dropped. */
    highWater: number;
    /** A connection that has not sent a SUB protocol header by then is closed. */
    handshakeMs: number;
    /** Called with the number of frames a slow subscriber lost. */
    onDrop?: (frames: number) => void;
}

/** Where a PUB for the url listens, or undefined when it is not a form handled here (inproc, ws,
 * an interface name): nanomsg's own socket serves those. */
export function spAddress(url: string): { path: string } | { host: string; port: number } | undefined {
    if (url.startsWith('ipc://')) return { path: url.slice('ipc://'.length) };
    const m = /^tcp:\/\/(\*|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(url);
    if (!m) return undefined;
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return undefined;
    return { host: m[1] === '*' ? '0.0.0.0' : m[1].replace(/^\[|\]$/g, ''), port };
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
        address: { path: string } | { host: string; port: number },
        private readonly opts: SpPubOptions
    ) {
        this.ipc = 'path' in address;
    }

    /** Listens at the address; rejects when it cannot bind (an ipc file nobody listens on is replaced, as nanomsg does). */
    static async listen(address: { path: string } | { host: string; port: number }, opts: SpPubOptions): Promise<SpPub> {
        const server = createServer({ noDelay: true });
        const pub = new SpPub(server, address, opts);
        server.on('connection', sock => pub.accept(sock));
        try {
            await listenOn(server, address);
        } catch (err) {
            if (!('path' in address) || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || (await alive(address.path))) throw err;
            unlinkSync(address.path);
            await listenOn(server, address);
        }
        return pub;
    }

    /** Subscribers that completed the handshake. */
    get subscribers(): number {
        return this.peers.size;
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
        const head = this.ipc ? 9 : 8;
        const buf = Buffer.allocUnsafe(this.bytes + head * texts.length);
        let at = 0;
        for (const text of texts) {
            const len = buf.write(text, at + head);
            if (this.ipc) buf[at++] = IPC_MSG_NORMAL;
            buf.writeUInt32BE(0, at); // the 64-bit length's high half: frames are far below 4 GB
            buf.writeUInt32BE(len, at + 4);
            at += 8 + len;
        }
        this.texts = [];
        this.bytes = 0;
        for (const peer of this.peers) {
            if (peer.writableLength > this.opts.highWater) this.opts.onDrop?.(texts.length);
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
        sock.write(HEADER);
        const timer = setTimeout(() => sock.destroy(), this.opts.handshakeMs);
        let got = Buffer.alloc(0);
        const onData = (chunk: Buffer): void => {
            got = Buffer.concat([got, chunk]);
            if (got.length < 8) return;
            clearTimeout(timer);
            sock.off('data', onData);
            if (got.readUInt32BE(0) !== 0x00535000 || got.readUInt16BE(4) !== NN_SUB) return void sock.destroy();
            // A SUB sends nothing after its header; read on only to see it close.
            sock.on('data', () => {});
            this.peers.add(sock);
        };
        sock.on('data', onData);
        sock.on('close', () => {
            clearTimeout(timer);
            this.conns.delete(sock);
            this.peers.delete(sock);
        });
    }
}

function listenOn(server: Server, address: { path: string } | { host: string; port: number }): Promise<void> {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(address, () => {
            server.off('error', reject);
            resolve();
        });
    });
}

/** Whether something accepts connections on the unix socket at path. */
function alive(path: string): Promise<boolean> {
    return new Promise(resolve => {
        const s = connect({ path });
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
    });
}
