// Shared by the catch-up tests: reading n events from a stream with a deadline, memcached stats.
import net from 'node:net';
import type { EventStream } from '../../src/client/stream.js';
import { makeEvent, type VmEvent } from '../../src/events/event.js';

export function flag(user: string, id: string, uid: number): VmEvent {
    return makeEvent({ id, type: 'flag', user, mailbox: 'INBOX', uid, flags: { set: ['\\Seen'], cleared: [] } });
}

/** The next n events of a stream (the stream stays open), or throws after timeoutMs. */
export async function take(stream: EventStream, n: number, timeoutMs = 10_000): Promise<VmEvent[]> {
    const it = stream[Symbol.asyncIterator]();
    const got: VmEvent[] = [];
    const deadline = Date.now() + timeoutMs;
    while (got.length < n) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`got ${got.length} of ${n} events: ${JSON.stringify(got.map(e => [e.seq, e.id]))}`)), Math.max(1, deadline - Date.now()));
        });
        try {
            const r = await Promise.race([it.next(), timeout]);
            if (r.done) throw new Error(`stream ended after ${got.length} of ${n} events`);
            got.push(r.value);
        } finally {
            clearTimeout(timer);
        }
    }
    return got;
}

/** memcached's `stats` counters (e.g. cmd_set, incr_hits, incr_misses). */
export function memcachedStats(port: number): Promise<Record<string, number>> {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1', () => sock.write('stats\r\n'));
        let buf = '';
        sock.on('data', d => {
            buf += d;
            if (!buf.endsWith('END\r\n')) return;
            sock.end();
            const out: Record<string, number> = {};
            for (const m of buf.matchAll(/^STAT (\S+) (\S+)\r$/gm)) out[m[1]] = Number(m[2]);
            resolve(out);
        });
        sock.once('error', reject);
    });
}

/** Seqs run without a hole from the first one. */
export function contiguous(evs: VmEvent[]): boolean {
    return evs.every((e, i) => e.seq === evs[0].seq! + i);
}
