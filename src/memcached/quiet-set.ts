// Many SETs as one write per server: binary-protocol SETQ (quiet: memcached answers only a failed
// one) for each entry, then a NOOP whose answer says every SETQ before it was processed (a
// connection's requests are handled in order). memjs has no quiet ops of its own, so the requests
// go through its Server (write, onResponse, onError: its request timeout and error handling stay);
// one callback for the batch, marked quiet so memjs keeps it for the error answers before the NOOP.
// A journal batch of n events then costs memcached, memjs and the event loop 1 answer instead of n.
import type { MemcachedClient } from './client.js';

const SETQ = 0x11;
const NOOP = 0x0a;
const HEADER = 24;
const EXTRAS = 8; // flags (4) + expiration (4)

interface MemjsResponse {
    header: { opcode: number; status: number };
}
type Handler = ((r: MemjsResponse) => void) & { quiet?: boolean };
interface MemjsServer {
    onResponse(seq: number, fn: Handler): void;
    onError(seq: number, fn: (err: Error) => void): void;
    write(blob: Buffer): void;
}
interface MemjsInternals {
    seq: number;
    incrSeq(): void;
    server(key: string): MemjsServer | null;
}

export interface Entry {
    key: string;
    value: string;
}

/** Stores every entry with the TTL; resolves with how many memcached did not store (a server
 * that could not be chosen counts its entries), rejects when a connection failed. The caller
 * bounds the wait. */
export async function setMany(client: MemcachedClient, entries: readonly Entry[], expires: number): Promise<number> {
    const mc = client as unknown as MemjsInternals;
    const byServer = new Map<MemjsServer, Entry[]>();
    let failed = 0;
    for (const e of entries) {
        const serv = mc.server(e.key);
        if (!serv) failed++;
        else byServer.get(serv)?.push(e) ?? byServer.set(serv, [e]);
    }
    const counts = await Promise.all([...byServer].map(([serv, list]) => send(mc, serv, list, expires)));
    return counts.reduce((a, b) => a + b, failed);
}

function send(mc: MemjsInternals, serv: MemjsServer, entries: readonly Entry[], expires: number): Promise<number> {
    mc.incrSeq();
    const seq = mc.seq;
    return new Promise((resolve, reject) => {
        let failed = 0;
        const handle: Handler = r => {
            if (r.header.opcode === NOOP) resolve(failed);
            else if (r.header.status !== 0) failed++;
        };
        handle.quiet = true;
        serv.onResponse(seq, handle);
        serv.onError(seq, reject);
        serv.write(requests(entries, expires, seq));
    });
}

/** The SETQ requests and the closing NOOP, all with the batch's opaque, in one buffer. */
function requests(entries: readonly Entry[], expires: number, opaque: number): Buffer {
    let total = HEADER;
    for (const e of entries) total += HEADER + EXTRAS + Buffer.byteLength(e.key) + Buffer.byteLength(e.value);
    const buf = Buffer.alloc(total);
    let at = 0;
    for (const e of entries) {
        const keyLen = buf.write(e.key, at + HEADER + EXTRAS);
        const valLen = buf.write(e.value, at + HEADER + EXTRAS + keyLen);
        header(buf, at, SETQ, keyLen, EXTRAS, EXTRAS + keyLen + valLen, opaque);
        buf.writeUInt32BE(0, at + HEADER); // flags
        buf.writeUInt32BE(expires, at + HEADER + 4);
        at += HEADER + EXTRAS + keyLen + valLen;
    }
    header(buf, at, NOOP, 0, 0, 0, opaque);
    return buf;
}

function header(buf: Buffer, at: number, opcode: number, keyLen: number, extrasLen: number, bodyLen: number, opaque: number): void {
    buf[at] = 0x80; // request magic
    buf[at + 1] = opcode;
    buf.writeUInt16BE(keyLen, at + 2);
    buf[at + 4] = extrasLen;
    // data type, vbucket and cas stay 0 (Buffer.alloc)
    buf.writeUInt32BE(bodyLen, at + 8);
    buf.writeUInt32BE(opaque, at + 12);
}
