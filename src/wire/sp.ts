// nanomsg's SP wire on stream sockets (sp-tcp-mapping-01, and nanomsg's ipc mapping): each side
// first sends an 8-byte header `\0SP\0` + its protocol (16 bits) + 2 zero bytes; then every
// message is a 64-bit big-endian length and the body (ipc: a type byte 1 before the length).
// PUB/SUB and PUSH/PULL carry no protocol header inside the body.
import type { Socket } from 'node:net';

export const SP = { PUB: 0x20, SUB: 0x21, PUSH: 0x50, PULL: 0x51 } as const;
export const SP_HEADER_BYTES = 8;

export type SpAddress = { path: string } | { host: string; port: number };

/** The 8 bytes a socket of this protocol sends first. */
export function spHeader(protocol: number): Buffer {
    return Buffer.from([0, 0x53, 0x50, 0, protocol >> 8, protocol & 0xff, 0, 0]);
}

/** Whether the peer's first 8 bytes say it speaks SP with the protocol we need. */
export function isSpHeader(head: Buffer, peer: number): boolean {
    return head.length >= SP_HEADER_BYTES && head.readUInt32BE(0) === 0x00535000 && head.readUInt16BE(4) === peer;
}

/** Where a nanomsg url points for a stream socket, or undefined when it is not a form handled
 * here (inproc, ws, a host or interface name): callers fall back to nanomsg for those. */
export function spAddress(url: string): SpAddress | undefined {
    if (url.startsWith('ipc://')) return { path: url.slice('ipc://'.length) };
    const m = /^tcp:\/\/(\*|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(url);
    if (!m) return undefined;
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return undefined;
    return { host: m[1] === '*' ? '0.0.0.0' : m[1].replace(/^\[|\]$/g, ''), port };
}

/** Messages framed back to back in one buffer, so a burst leaves in one write. */
export function spMessages(bodies: readonly (string | Buffer)[], ipc: boolean, bytes?: number): Buffer {
    const head = ipc ? 9 : 8;
    let total = head * bodies.length;
    if (bytes !== undefined) total += bytes;
    else for (const b of bodies) total += typeof b === 'string' ? Buffer.byteLength(b) : b.length;
    const buf = Buffer.allocUnsafe(total);
    let at = 0;
    for (const body of bodies) {
        const len = typeof body === 'string' ? buf.write(body, at + head) : body.copy(buf, at + head);
        if (ipc) buf[at++] = 1;
        buf.writeUInt32BE(0, at); // the 64-bit length's high half: frames are far below 4 GB
        buf.writeUInt32BE(len, at + 4);
        at += 8 + len;
    }
    return buf;
}

/** Sends our header and waits (bounded) for the peer's: done(true, bytes after it) once it is the
 * protocol we need, done(false) when it is not, the time ran out or the socket closed first. Without
 * `keepData` the peer's later bytes are read and ignored (SUB and PULL send nothing after it). */
export function spHandshake(sock: Socket, ours: number, peer: number, timeoutMs: number, done: (ok: boolean, rest: Buffer) => void, keepData = false): void {
    let got: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('close', onClose);
        // read on (and discard) only to see the peer close
        if (ok && !keepData) sock.on('data', () => {});
        done(ok, got.subarray(SP_HEADER_BYTES));
    };
    const onData = (chunk: Buffer): void => {
        got = got.length ? Buffer.concat([got, chunk]) : chunk;
        if (got.length >= SP_HEADER_BYTES) finish(isSpHeader(got, peer));
    };
    const onClose = (): void => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('data', onData);
    sock.on('close', onClose);
    sock.write(spHeader(ours));
}
