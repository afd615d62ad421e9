// Benchmark 4: events/s from the bridge's event entry (`bridge.events.emit`) to 10 subscribers,
// counting every frame: 10 SUB sockets on the bus (each receives every event; in a child process
// of their own, as subscriber programs are), and 10 subscribe() streams (PUSH through the
// memcached resolver, one user each, events spread over those users) in this process.
// Offered rates step up; a rate counts when no subscriber lost anything. Past capacity the
// question is whether subscribers keep receiving: a `reset` (or a gap) for what was dropped, then
// later events (`received after reset`).
// Delivered/s = events received by every subscriber over [first event due, last arrival], all counted.
// Run: node bench/event-throughput.mjs   (env: BENCH_SECONDS=3 BENCH_RATES=5000,10000,20000,25000,30000,40000,80000)
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { ensureBuilt, envInt, helper, printTable, RESULTS, writeResult } from './lib/env.mjs';
import { summariseProfile } from './lib/profile.mjs';
import { cpuMs } from './lib/proc.mjs';
import { startBridgeChild } from './lib/bridge-child.mjs';
import { pushSubscribers } from './lib/subscribers.mjs';

const SECONDS = envInt('BENCH_SECONDS', 3);
// 25,000 and 30,000: delivered/s counts the latency of the last event too, so a rate is "kept up
// with at ≥ 20,000/s" only when more than 20,000/s is offered
const RATES = (process.env.BENCH_RATES ?? '5000,10000,20000,25000,30000,40000,80000').split(',').map(Number);
const PROFILE = process.env.BENCH_PROFILE === '1';
const SUBSCRIBERS = 10;
// the bus as shipped (ipc://<state-dir>/bus.sock); BENCH_BUS=tcp for a tcp:// bus
const BUS = process.env.BENCH_BUS === 'tcp' ? undefined : 'default';
const USERS = Array.from({ length: SUBSCRIBERS }, (_, i) => `s${i}@example.org`);

ensureBuilt();
const { startMemcached } = await helper('memcached.ts');
const { waitFor } = await helper('net.ts');
const memcached = await startMemcached();
const profileDir = path.join(RESULTS, 'profiles-events');
if (PROFILE) rmSync(profileDir, { recursive: true, force: true });
const bridge = await startBridgeChild(
    'event-throughput',
    { deliver: 'maildir:./var/bench-mail', resolver: memcached.resolver, logLevel: 'warn', ...(BUS ? { publish: BUS } : {}) },
    { execArgv: PROFILE ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [] }
);
const bus = await startBusChild(bridge.publish, SUBSCRIBERS);

// only the current phase's events count (its tag is in the id): late ones of a phase that
// timed out must not pass for the next phase's
let tag = 'probe';
let last = 0n;
let pushCount = 0;
let resets = 0;
let afterReset = 0;
const pushes = await pushSubscribers(memcached.resolver, USERS, (ev, _user, t) => {
    if (ev.type === 'reset') {
        resets++;
        return;
    }
    if (!ev.id.startsWith(`${tag}.`)) return;
    pushCount++;
    if (resets) afterReset++;
    last = t;
});
const startPhase = t => {
    tag = t;
    pushCount = resets = afterReset = 0;
    bus.tag(t);
};
const rows = [];
try {
    await waitFor(
        async () => {
            startPhase(`probe${Date.now()}`);
            await bridge.emit({ count: USERS.length, rate: 0, users: USERS, tag });
            await new Promise(r => setTimeout(r, 100));
            return (await bus.report()).counts.every(c => c > 0) && pushCount >= USERS.length;
        },
        20_000,
        'subscriptions'
    );
    await new Promise(r => setTimeout(r, 500)); // late probes
    for (const rate of RATES) {
        const count = rate * SECONDS;
        startPhase(`tp${rate}`);
        const cpu0 = cpuNow();
        const emitted = await bridge.emit({ count, rate, users: USERS, tag });
        const t0 = BigInt(emitted.start); // the first event's slot: the window is [it, last arrival]
        // a backlog still draining is slowness, not loss: wait up to 30 s for it
        let busNow = await bus.report();
        await waitFor(async () => (busNow = await bus.report()).counts.every(c => c >= count) && pushCount >= count, 30_000).catch(() => undefined);
        const cpu = cpuNow().map((ms, i) => Math.round((ms - cpu0[i]) * (1000 / count)) / 1000);
        const lastNs = [last, BigInt(busNow.last)].reduce((a, b) => (a > b ? a : b));
        const seconds = Number(lastNs - t0) / 1e9;
        const busLost = busNow.counts.reduce((a, c) => a + (count - c), 0);
        rows.push({
            'offered/s': rate,
            'emitted/s': Math.round(count / emitted.seconds),
            'bus: delivered/s per subscriber': Math.round(Math.min(...busNow.counts) / seconds),
            'bus: frames lost (of 10×N)': busLost,
            'subscribe(): delivered/s (all 10)': Math.round(pushCount / seconds),
            'subscribe(): lost': count - pushCount,
            'subscribe(): resets': resets,
            'subscribe(): received after reset': afterReset,
            'last arrival after s': Math.round(seconds * 10) / 10,
            // CPU per event (ms, /proc: user + system; load-independent): who does the work
            'CPU ms/event: bridge': cpu[0],
            'bus SUB child (10 sockets)': cpu[1],
            'subscribe() streams (this process)': cpu[2],
            memcached: cpu[3],
            'no loss': busLost === 0 && pushCount === count ? 'yes' : 'no'
        });
        console.error(JSON.stringify(rows.at(-1)));
        await new Promise(r => setTimeout(r, 1000)); // let the journal and pushers settle
    }
    // the highest rate the subscribers kept up with (last arrival within 25 % of the emitting time), no loss
    const delivered = r => Math.min(r['bus: delivered/s per subscriber'], r['subscribe(): delivered/s (all 10)']);
    const best = rows
        .filter(r => r['no loss'] === 'yes' && r['last arrival after s'] <= SECONDS * 1.25)
        .map(delivered)
        .reduce((a, b) => Math.max(a, b), 0);
    const sustained = rows
        .filter(r => r['no loss'] === 'yes')
        .map(delivered)
        .reduce((a, b) => Math.max(a, b), 0);
    // overload: every phase that lost events must have told the subscribers (reset), and they must
    // go on receiving: after the flood, AFTER events at 1,000/s must all arrive
    const lossy = rows.filter(r => r['subscribe(): lost'] > 0);
    const after = lossy.length ? await afterOverload() : undefined;
    const overload = {
        phases: lossy.length,
        resetsSeen: lossy.every(r => r['subscribe(): resets'] > 0),
        after,
        resetAndContinued: lossy.every(r => r['subscribe(): resets'] > 0) && (!after || after.received === after.sent)
    };
    printTable(`Event throughput, ${SUBSCRIBERS} bus + ${SUBSCRIBERS} subscribe() subscribers, ${SECONDS} s per rate`, rows);
    console.log(`\nhighest offered rate kept up with, no loss: ${best} events/s; highest delivery rate without loss (backlog allowed): ${sustained} events/s`);
    console.log(
        `overload: ${lossy.length} phase(s) lost events; subscribers got a reset and kept receiving: ${lossy.length ? (overload.resetAndContinued ? 'yes' : 'no') : 'n/a'}`
    );
    await bridge.stop();
    const profile = PROFILE ? summariseProfile(profileDir) : undefined;
    writeResult('event-throughput', { seconds: SECONDS, subscribers: SUBSCRIBERS, rows, bestWithoutLoss: best, sustainedWithoutLoss: sustained, overload, profile });
} finally {
    bus.stop();
    await pushes.close();
    await bridge.stop();
    await memcached.stop();
}

/** CPU ms so far of the bridge child, the bus subscribers' child, this process and memcached. */
function cpuNow() {
    return [bridge.pid, bus.pid, process.pid, memcached.pid].map(pid => (pid ? cpuMs(pid) : 0));
}

/** AFTER events at 1,000/s once the last phase has settled: how many subscribe() received. */
async function afterOverload() {
    const sent = envInt('BENCH_AFTER', 1000);
    startPhase('after');
    await bridge.emit({ count: sent, rate: 1000, users: USERS, tag });
    await waitFor(() => pushCount >= sent, 30_000).catch(() => undefined);
    console.error(JSON.stringify({ afterOverload: { sent, received: pushCount } }));
    return { sent, received: pushCount };
}

/** The bus subscribers' child (lib/bus-child.mjs). */
async function startBusChild(url, n) {
    const child = fork(new URL('./lib/bus-child.mjs', import.meta.url), [JSON.stringify({ url, n })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const waiters = [];
    child.on('message', m => waiters.shift()?.(m));
    const next = () => new Promise(r => waiters.push(r));
    await next();
    return {
        pid: child.pid,
        tag: t => child.send({ tag: t }),
        report: () => (child.send({ report: true }), next()),
        stop: () => child.connected && child.send({ stop: true })
    };
}
