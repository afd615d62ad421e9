// What the pusher's endpoint lookup costs a subscribe() subscriber's event: the event front and
// the pusher in this process against the tests' memcached, 10 subscribe() streams (one per user),
// flag events at a fixed pace, entry → arrival at the stream, p50/p90/p99. Two variants in
// alternating rounds: `separate` (the resolver on a connection of its own: the lookup goes out
// once the INCR that numbers the events is answered) and `shared` (EventFront.shareMemcached, what
// serve does with one memcached server: the lookup goes out right behind the INCR).
// Run: node bench/push-lookup.mjs   (env: BENCH_EVENTS=2000 BENCH_ROUNDS=4 BENCH_GAP_MS=2)
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dist, ensureBuilt, envInt, helper, printTable, stats, writeResult } from './lib/env.mjs';

const EVENTS = envInt('BENCH_EVENTS', 2000);
const ROUNDS = envInt('BENCH_ROUNDS', 4);
const GAP_MS = envInt('BENCH_GAP_MS', 2);

ensureBuilt();
const { EventFront } = await dist('publish/front.js');
const { Pusher } = await dist('publish/push.js');
const { createResolver } = await dist('resolve/resolver.js');
const { subscribe } = await dist('client/subscribe.js');
const { loadConfig } = await dist('config.js');
const { createLogger } = await dist('log.js');
const { makeEvent } = await dist('events/event.js');
const { startMemcached } = await helper('memcached.ts');
const { freePort } = await helper('net.ts');

const sleep = ms => new Promise(r => setTimeout(r, ms));
const flag = (id, user) => makeEvent({ id, type: 'flag', user, mailbox: 'INBOX', uid: 1, flags: { set: ['\\Seen'], cleared: [] } });
const log = createLogger('warn');
const mc = await startMemcached();
const dir = mkdtempSync(path.join(os.tmpdir(), 'vmb-push-lookup-'));

/** One round: a fresh front, pusher and 10 subscribers; latencies in ms. */
async function round(variant, r) {
    const config = loadConfig({ resolver: mc.resolver, stateDir: dir }, {});
    const front = new EventFront(config, log);
    const client = variant === 'shared' ? front.shareMemcached() : undefined;
    const resolver = await createResolver(config.resolver, { timeoutMs: 250, client });
    const pusher = new Pusher({ resolver, logger: log });
    front.add(pusher);
    const users = Array.from({ length: 10 }, (_, i) => `r${r}${variant}u${i}`);
    const sent = new Map();
    const latencies = [];
    const streams = [];
    try {
        for (const user of users) {
            const s = subscribe({ resolver: mc.resolver, user, bind: `tcp://127.0.0.1:${await freePort()}`, ttlSec: 60 });
            await s.ready;
            streams.push(s);
            void (async () => {
                for await (const ev of s) {
                    const t = sent.get(ev.id);
                    if (t !== undefined) latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
                }
            })();
        }
        // warm-up: every push socket connected, JIT
        for (let i = 0; i < 50; i++) {
            for (const user of users) front.emit(flag(`w${i}.${user}`, user));
            await sleep(5);
        }
        await sleep(300);
        for (let i = 0; i < EVENTS; i++) {
            const id = `e${i}`;
            sent.set(id, process.hrtime.bigint());
            front.emit(flag(id, users[i % users.length]));
            await sleep(GAP_MS);
        }
        const deadline = Date.now() + 10_000;
        while (latencies.length < EVENTS && Date.now() < deadline) await sleep(20);
    } finally {
        for (const s of streams) await s.close();
        await front.stop();
        await pusher.close();
        await resolver.close();
    }
    const s = stats(latencies);
    return { round: r, variant, events: EVENTS, arrived: latencies.length, 'p50 ms': s.p50, 'p90 ms': s.p90, 'p99 ms': s.p99 };
}

const rows = [];
try {
    for (let r = 1; r <= ROUNDS; r++) for (const variant of r % 2 ? ['shared', 'separate'] : ['separate', 'shared']) rows.push(await round(variant, r));
} finally {
    await mc.stop();
    rmSync(dir, { recursive: true, force: true });
}
printTable(`entry → subscribe() arrival, ${EVENTS} flag events ${GAP_MS} ms apart over 10 users, per round`, rows);
writeResult('push-lookup', { events: EVENTS, gapMs: GAP_MS, rows });
