// subscribe()'s PULL socket on Node's own sockets for tcp:// and ipc:// (nanomsg's SP wire,
// wire/sp.ts): frames are read in the event loop as they arrive — nanomsg's PULL reads them on its
// worker thread and wakes the loop for each batch through an eventfd, one more thread hop per frame.
// Up to SP_MAX_PEERS PUSH peers (every bridge instance) may connect; a peer that does not complete the
// SP handshake in time, or sends a frame over the size limit, is disconnected.
import { createServer, type Server, type Socket } from 'node:net';
import { listenAt } from '../net/unix-listen.js';
import { SP, spHandshake, type SpAddress } from '../wire/sp.js';
import { SP_HANDSHAKE_MS, SP_MAX_PEERS, SP_PULL_MAX_FRAME } from '../limits.js';
import type { FrameSource } from './receive.js';

export class SpPull implements FrameSource {
    private readonly conns = new Set<Socket>();
    private onFrame: (frame: Buffer) => void = () => {};
    private closed = false;

    private readonly server: Server;
    private readonly ipc: boolean;

    constructor(private readonly address: SpAddress) {
        this.ipc = 'path' in address;
        this.server = createServer({ noDelay: true });
        this.server.maxConnections = SP_MAX_PEERS; // bridges pushing here are few; whatever else connects is bounded
        this.server.on('connection', sock => this.accept(sock));
    }

    /** Binds the address (an ipc file nobody listens on is replaced, as nanomsg does); rejects when it cannot. */
    async listen(): Promise<void> {
        await listenAt(this.server, this.address);
        this.server.on('error', () => {}); // accept errors (EMFILE): the peer redials
        if (this.closed) this.server.close(); // closed while binding
    }

    start(onFrame: (frame: Buffer) => void): void {
        this.onFrame = onFrame;
    }

    close(): void {
        if (this.closed) return;
        this.closed = true;
        this.server.close(() => {}); // not listening (yet, or any more): nothing to report
        for (const c of this.conns) c.destroy();
    }

    private accept(sock: Socket): void {
        if (this.closed) return void sock.destroy();
        this.conns.add(sock);
        sock.on('error', () => sock.destroy());
        sock.on('close', () => this.conns.delete(sock));
        spHandshake(
            sock,
            SP.PULL,
            SP.PUSH,
            SP_HANDSHAKE_MS,
            (ok, rest) => {
                if (!ok) return void sock.destroy();
                const read = this.reader(sock);
                sock.on('data', read);
                if (rest.length) read(rest);
            },
            true
        );
    }

    /** Splits the peer's byte stream into frames: [type byte 1, ipc only] 64-bit length, body. */
    private reader(sock: Socket): (chunk: Buffer) => void {
        const head = this.ipc ? 9 : 8;
        let buf: Buffer = Buffer.alloc(0);
        return chunk => {
            buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
            let at = 0;
            while (buf.length - at >= head) {
                const lenAt = at + head - 8;
                if ((this.ipc && buf[at] !== 1) || buf.readUInt32BE(lenAt) !== 0) return void sock.destroy();
                const len = buf.readUInt32BE(lenAt + 4);
                if (len > SP_PULL_MAX_FRAME) return void sock.destroy();
                if (buf.length - at - head < len) break;
                const frame = buf.subarray(at + head, at + head + len);
                at += head + len;
                if (!this.closed) this.onFrame(frame);
            }
            buf = buf.subarray(at);
        };
    }
}
