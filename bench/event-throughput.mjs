// Benchmark 4: events/s from the bridge's event entry (`bridge.events.emit`) to 10 subscribers,
// counting every frame: 10 SUB sockets on the bus (each receives every event), and 10 subscribe()
// streams (PUSH through the memcached resolver, one user each, events spread over those users).
// Offered rates step up; a rate counts when no subscriber lost anything.
// Run: node bench/event-throughput.mjs   (env: BENCH_SECONDS=3 BENCH_RATES=5000,10000,20000,40000)
import { rmSync } from 'node:fs';
import path from 'node:path';
import { ensureBuilt, envInt, helper, printTable, RESULTS, writeResult } from './lib/env.mjs';
import { summariseProfile } from './lib/profile.mjs';
import { startBridgeChild } from './lib/bridge-child.mjs';
import { busSubscriber, pushSubscribers } from './lib/subscribers.mjs';

const SECONDS = envInt('BENCH_SECONDS', 3);
const RATES = (process.env.BENCH_RATES ?? '5000,10000,20000,40000').split(',').map(Number);
const PROFILE = process.env.BENCH_PROFILE === '1';
const SUBSCRIBERS = 10;
const USERS = Array.from({ length: SUBSCRIBERS }, (_, i) => `s${i}@example.org`);

ensureBuilt();
const { startMemcached } = await helper('memcached.ts');
const { waitFor } = await helper('net.ts');
const memcached = await startMemcached();
const profileDir = path.join(RESULTS, 'profiles-events');
if (PROFILE) rmSync(profileDir, { recursive: true, force: true });
const bridge = await startBridgeChild(
    'event-throughput',
    { deliver: 'maildir:./var/bench-mail', resolver: memcached.resolver, logLevel: 'warn' },
    { execArgv: PROFILE ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [] }
);

// only the current phase's events count (its tag is in the id): late ones of a phase that
// timed out must not pass for the next phase's
let tag = 'probe';
let tagBytes = Buffer.from(`"id":"${tag}.`);
let last = 0n;
const busCounts = Array(SUBSCRIBERS).fill(0);
let pushCount = 0;
const subs = USERS.map((_, i) =>
    busSubscriber(bridge.publish, buf => {
        if (buf.indexOf(tagBytes) < 0) return;
        busCounts[i]++;
        last = process.hrtime.bigint();
    })
);
const pushes = await pushSubscribers(memcached.resolver, USERS, ev => {
    if (!ev.id.startsWith(`${tag}.`)) return;
    pushCount++;
    last = process.hrtime.bigint();
});
const rows = [];
try {
    await waitFor(
        async () => {
            busCounts.fill(0);
            pushCount = 0;
            await bridge.emit({ count: USERS.length, rate: 0, users: USERS, tag });
            await new Promise(r => setTimeout(r, 100));
            return busCounts.every(c => c > 0) && pushCount >= USERS.length;
        },
        20_000,
        'subscriptions'
    );
    await new Promise(r => setTimeout(r, 500)); // late probes
    for (const rate of RATES) {
        busCounts.fill(0);
        pushCount = 0;
        const count = rate * SECONDS;
        tag = `tp${rate}`;
        tagBytes = Buffer.from(`"id":"${tag}.`);
        const t0 = process.hrtime.bigint();
        const emitted = await bridge.emit({ count, rate, users: USERS, tag });
        // a backlog still draining is slowness, not loss: wait up to 30 s for it
        await waitFor(() => busCounts.every(c => c >= count) && pushCount >= count, 30_000).catch(() => undefined);
        const seconds = Number(last - t0) / 1e9;
        const busLost = busCounts.reduce((a, c) => a + (count - c), 0);
        rows.push({
            'offered/s': rate,
            'emitted/s': Math.round(count / emitted.seconds),
            'bus: delivered/s per subscriber': Math.round(Math.min(...busCounts) / seconds),
            'bus: frames lost (of 10×N)': busLost,
            'subscribe(): delivered/s (all 10)': Math.round(pushCount / seconds),
            'subscribe(): lost': count - pushCount,
            'last arrival after s': Math.round(seconds * 10) / 10,
            'no loss': busLost === 0 && pushCount === count ? 'yes' : 'no'
        });
        console.error(JSON.stringify(rows.at(-1)));
        await new Promise(r => setTimeout(r, 1000)); // let the journal and coalescer settle
    }
    // the highest rate the subscribers kept up with (last arrival within 25 % of the emitting time), no loss
    const best = rows
        .filter(r => r['no loss'] === 'yes' && r['last arrival after s'] <= SECONDS * 1.25)
        .map(r => Math.min(r['bus: delivered/s per subscriber'], r['subscribe(): delivered/s (all 10)']))
        .reduce((a, b) => Math.max(a, b), 0);
    const sustained = rows
        .filter(r => r['no loss'] === 'yes')
        .map(r => Math.min(r['bus: delivered/s per subscriber'], r['subscribe(): delivered/s (all 10)']))
        .reduce((a, b) => Math.max(a, b), 0);
    printTable(`Event throughput, ${SUBSCRIBERS} bus + ${SUBSCRIBERS} subscribe() subscribers, ${SECONDS} s per rate`, rows);
    console.log(`\nhighest offered rate kept up with, no loss: ${best} events/s; highest delivery rate without loss (backlog allowed): ${sustained} events/s`);
    await bridge.stop();
    const profile = PROFILE ? summariseProfile(profileDir) : undefined;
    writeResult('event-throughput', { seconds: SECONDS, subscribers: SUBSCRIBERS, rows, bestWithoutLoss: best, sustainedWithoutLoss: sustained, profile });
} finally {
    subs.forEach(s => s.close());
    await pushes.close();
    await bridge.stop();
    await memcached.stop();
}
