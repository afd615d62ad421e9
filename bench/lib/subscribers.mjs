// The receiving side of the event benchmarks, in the benchmark's own process: SUB sockets on the
// bus (PUB) and subscribe() streams (library, PUSH via the memcached resolver).
import nano from 'nanomsg';
import { dist, helper } from './env.mjs';

/** A SUB socket on the bus; onFrame(frame, arrivalNs) per frame (read as listen() reads: every
 * frame waiting at a wakeup, not one per poll event). */
export async function busSubscriber(url, onFrame, prefixes = ['']) {
    const { onFrames } = await dist('client/receive.js');
    const sock = nano.socket('sub', { chan: prefixes, rcvbuf: 16 * 1024 * 1024 });
    onFrames(sock, buf => onFrame(buf, process.hrtime.bigint()));
    sock.connect(url);
    return { close: () => sock.close() };
}

/** subscribe() for each user, each on its own PULL endpoint; onEvent(ev, user, arrivalNs). */
export async function pushSubscribers(resolver, users, onEvent) {
    const { subscribe } = await dist('index.js');
    const { freePort } = await helper('net.ts');
    const ac = new AbortController();
    const streams = [];
    for (const user of users) {
        const stream = subscribe({ resolver, user, bind: `tcp://127.0.0.1:${await freePort()}`, signal: ac.signal });
        await stream.ready;
        streams.push(
            (async () => {
                try {
                    for await (const ev of stream) onEvent(ev, user, process.hrtime.bigint());
                } catch (err) {
                    if (!ac.signal.aborted) throw err;
                }
            })()
        );
    }
    return {
        close: async () => {
            ac.abort();
            await Promise.allSettled(streams);
        }
    };
}

/** Latency (ms) from a monotonic timestamp in an event id `<tag>.<hrtime ns>.<n>`. */
export function idLatencyMs(id, arrivalNs) {
    const ns = id.split('.')[1];
    return Number(arrivalNs - BigInt(ns)) / 1e6;
}

/** Parses a bus frame `<user>\t<type>\t<json>` into its JSON part's event. */
export function frameEvent(buf) {
    const s = buf.toString('utf8');
    return JSON.parse(s.slice(s.indexOf('\t', s.indexOf('\t') + 1) + 1));
}
