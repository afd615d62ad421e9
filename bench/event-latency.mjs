// Benchmark 3: event latency to a PUB subscriber (SUB socket on the bus) and to subscribe()
// subscribers (library, PUSH through the memcached resolver), p50/p99:
//   A. LMTP delivery → newmail: from the MTA-side client's 250 reply to the event's arrival
//   B. event entry (`bridge.events.emit`, where deliveries and the Dovecot hook feed in) →
//      subscriber, at 1,000 events/s over 200 users (the monotonic clock rides in the event id)
//   C. IMAP STORE +FLAGS \Seen on Dovecot → hook → ingest → subscriber (lib/store-latency.mjs):
//      from the STORE line's write, and from its tagged OK (the change done: what the 250 is to A)
// Each p99 comes with its bootstrap 95% interval (lib/p99.mjs p99Ci): npm run bench judges a
// target by it (met only when the interval lies wholly at or below 5 ms).
// Run: node bench/event-latency.mjs   (env: BENCH_EVENTS=20000 BENCH_DELIVERIES=2000 BENCH_RATE=1000 BENCH_CONNS=1 BENCH_STORES=1000)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ensureBuilt, envInt, helper, latencyStats, printTable, ROOT, writeResult } from './lib/env.mjs';
import { startBridgeChild } from './lib/bridge-child.mjs';
import { dataPayload, openConnections, sendAll } from './lib/mta.mjs';
import { smallMessage } from './lib/messages.mjs';
import { busSubscriber, frameEvent, idLatencyMs, pushSubscribers } from './lib/subscribers.mjs';
import { storeLatency } from './lib/store-latency.mjs';
import { stageRows } from './lib/stages.mjs';

// 20,000 over 200 users: 1,000 of them to the 10 subscribe()d users, so that row's p99 is not its 5th worst of 500
const EVENTS = envInt('BENCH_EVENTS', 20_000);
const DELIVERIES = envInt('BENCH_DELIVERIES', 2000);
const RATE = envInt('BENCH_RATE', 1000);
const CONNS = envInt('BENCH_CONNS', 1);
const STAGES = process.env.BENCH_STAGES === '1'; // break each latency into the bridge's stages (lib/stages.mjs)
// the IMAP STORE phase once per push_notification driver (dovecot-config --driver)
const DRIVERS = (process.env.BENCH_STORE_DRIVERS ?? 'lua,native').split(',');
const USERS = Array.from({ length: 200 }, (_, i) => `u${i}@example.org`);
const SUBSCRIBED = USERS.slice(0, 10);

ensureBuilt();
const { startDovecot } = await helper('dovecot.ts');
const { startMemcached } = await helper('memcached.ts');
const { waitFor } = await helper('net.ts');
const dovecot = await startDovecot({ users: USERS });
const memcached = await startMemcached();
const bridge = await startBridgeChild('event-latency', { deliver: dovecot.lmtpUrl, resolver: memcached.resolver, logLevel: 'warn' });

// arrivals: event id or messageId → hrtime ns, per receiver
const bus = new Map();
const push = new Map();
const sub = await busSubscriber(bridge.publish, (buf, t) => {
    const ev = frameEvent(buf);
    bus.set(ev.messageId ?? ev.id, t);
});
const subs = await pushSubscribers(memcached.resolver, SUBSCRIBED, (ev, _user, t) => push.set(ev.messageId ?? ev.id, t));
try {
    // ready once the bus subscription and every subscriber's registration are live
    await waitFor(
        async () => {
            const tag = `probe${Date.now()}`;
            await bridge.emit({ count: SUBSCRIBED.length, rate: 0, users: SUBSCRIBED, tag });
            await new Promise(r => setTimeout(r, 50));
            const seen = [...push.keys()].filter(k => k.startsWith(tag)).length;
            return seen === SUBSCRIBED.length && [...bus.keys()].some(k => k.startsWith(tag));
        },
        20_000,
        'subscriptions'
    );
    bus.clear();
    push.clear();
    if (STAGES) await bridge.stages();

    // A. deliveries, one transaction after another on CONNS connections (default 1: below
    // saturation, so the figure is the event path's, not queueing behind a full relay), each
    // message with its own Message-ID
    const replied = new Map();
    const toUser = new Map();
    const conns = await openConnections(bridge.lmtpPort, CONNS);
    const res = await sendAll(
        conns.map(c => wrapReplies(c, replied)),
        DELIVERIES,
        i => {
            // every other one to a subscribe()d user: its p99 then rests on DELIVERIES/2 samples, not 1 in 20
            const to = i % 2 ? SUBSCRIBED[(i >> 1) % SUBSCRIBED.length] : USERS[SUBSCRIBED.length + ((i >> 1) % (USERS.length - SUBSCRIBED.length))];
            const msg = smallMessage(`lat${i}`, to);
            const messageId = `<bench-lat${i}-${process.pid}@example.net>`;
            toUser.set(messageId, to);
            return { rcpts: [to], payload: dataPayload(msg), messageId };
        }
    );
    conns.forEach(c => c.close());
    if (res.failed) throw new Error(`${res.failed} deliveries failed`);
    const subscribedIds = [...replied.keys()].filter(id => SUBSCRIBED.includes(toUser.get(id)));
    await waitFor(() => replied.size && [...replied.keys()].every(k => bus.has(k)) && subscribedIds.every(k => push.has(k)), 15_000, 'newmail events').catch(() => undefined);
    const after = (arrivals, ids) => ids.filter(id => arrivals.has(id)).map(id => Number(arrivals.get(id) - replied.get(id)) / 1e6);
    const deliveryBus = after(bus, [...replied.keys()]);
    const deliveryPush = after(push, subscribedIds);
    const delivery = {
        messages: DELIVERIES,
        connections: CONNS,
        ratePerSec: Math.round(res.rate),
        bus: { ...latencyStats(deliveryBus), lost: replied.size - deliveryBus.length },
        subscribe: { ...latencyStats(deliveryPush), lost: subscribedIds.length - deliveryPush.length },
        stages: STAGES
            ? stageRows(replied, await bridge.stages(), { bus, push }, [
                  ['start', 'entry'],
                  ['entry', 'out'],
                  ['out', 'bus'],
                  ['out', 'push'],
                  ['start', 'push']
              ])
            : undefined
    };

    // B. event entry → subscribers at RATE events/s over 200 users
    bus.clear();
    push.clear();
    const emitted = await bridge.emit({ count: EVENTS, rate: RATE, users: USERS, tag: 'lat' });
    const expectedPush = Math.ceil((EVENTS * SUBSCRIBED.length) / USERS.length);
    await waitFor(() => bus.size >= EVENTS && push.size >= expectedPush, 15_000, 'emitted events').catch(() => undefined);
    const lat = m => [...m].map(([id, t]) => idLatencyMs(id, t));
    const entry = {
        events: EVENTS,
        ratePerSec: Math.round(EVENTS / emitted.seconds),
        bus: { ...latencyStats(lat(bus)), lost: EVENTS - bus.size },
        subscribe: { ...latencyStats(lat(push)), lost: expectedPush - push.size }
    };

    // C. IMAP STORE → Lua hook → ingest → subscribers (own Dovecot with the hook, own bridge)
    const ingestReady = existsSync(path.join(ROOT, 'dist/hook/ingest.js'));
    const store = {};
    for (const driver of DRIVERS)
        store[driver] = ingestReady
            ? await storeLatency({ memcached, stores: envInt('BENCH_STORES', 1000), driver, stages: STAGES })
            : { pending: true, reason: 'the ingest endpoint (src/hook/ingest.ts) is not in the bridge yet' };
    const driverName = { lua: 'Lua script', native: 'native driver' };

    const row = (source, to, s) => ({
        source,
        to,
        events: s.n,
        'p50 ms': s.p50,
        'p90 ms': s.p90,
        'p99 ms': s.p99,
        'p99 95% CI': s.p99ci?.join(' … '),
        'max ms': s.max,
        lost: s.lost
    });
    printTable('Event latency (ms)', [
        row(`LMTP delivery, ${CONNS} conn (${delivery.ratePerSec} msg/s): 250 reply →`, 'PUB subscriber', delivery.bus),
        row(`LMTP delivery, ${CONNS} conn (${delivery.ratePerSec} msg/s): 250 reply →`, 'subscribe() ×10 users', delivery.subscribe),
        row(`event entry at ${entry.ratePerSec}/s, 200 users →`, 'PUB subscriber', entry.bus),
        row(`event entry at ${entry.ratePerSec}/s, 200 users →`, 'subscribe() ×10 users', entry.subscribe),
        ...Object.entries(store).flatMap(([driver, s]) =>
            s.pending
                ? [
                      {
                          source: `IMAP STORE → ${driverName[driver]} → ingest →`,
                          to: 'both',
                          events: '',
                          'p50 ms': 'PENDING',
                          'p90 ms': '',
                          'p99 ms': '',
                          'max ms': '',
                          lost: s.reason
                      }
                  ]
                : [
                      ['command sent', s],
                      ['tagged OK', s.fromReply]
                  ].flatMap(([from, f]) => [
                      row(`IMAP STORE → ${driverName[driver]} (${s.ratePerSec}/s, ${s.users} users): ${from} →`, 'PUB subscriber', f.bus),
                      row(`IMAP STORE → ${driverName[driver]} (${s.ratePerSec}/s, ${s.users} users): ${from} →`, 'subscribe() ×10 users', f.subscribe)
                  ])
        )
    ]);
    if (STAGES) {
        printTable('Stages, LMTP delivery (start = the 250 reply at the MTA)', delivery.stages);
        for (const [driver, s] of Object.entries(store)) if (s.stages) printTable(`Stages, IMAP STORE → ${driverName[driver]} (start = command sent)`, s.stages);
    }
    writeResult('event-latency', { users: USERS.length, subscribed: SUBSCRIBED.length, delivery, entry, store });
} finally {
    sub.close();
    await subs.close();
    await bridge.stop();
    await memcached.stop();
    await dovecot.destroy();
}

/** Records, per Message-ID, when the final 250 arrived. */
function wrapReplies(conn, replied) {
    return {
        async send(from, rcpts, payload) {
            const r = await conn.send(from, rcpts, payload);
            const id = /Message-ID: (<[^>]+>)/.exec(payload.toString('latin1', 0, 400))[1];
            if (r.codes[0] === 250) replied.set(id, process.hrtime.bigint());
            return r;
        }
    };
}
