// Benchmarks 1 and 2: delivery throughput and added latency of vmbridge (a `serve` child process,
// LMTP → Dovecot LMTP) against the same MTA-like client sending straight to Dovecot's LMTP, in
// one run, rounds alternating between the two so drift (mailboxes filling up, a busy neighbour)
// hits both alike. Workloads: small messages, voicemails of 200 KB and of 640 KB (a 30 s WAV in
// base64) and a mix, each at 1 and 8 connections. BENCH_PROFILE=1 runs the serve child under
// --cpu-prof and summarises it; BENCH_SYSCALLS=1 counts the child's socket writes per message
// (strace, an untimed pass per workload). The same rounds also go through a zero-logic relay
// (lib/pipe-relay.mjs, a child piping bytes to Dovecot): what the hop alone costs on this machine.
// BENCH_BASE_ROOT=<a copy with bin/ and dist/>: that build runs too, as a `baseline` column
// (before/after a change in ONE run, its own state directory).
// Run: node bench/delivery.mjs   (env: BENCH_MESSAGES=1000 BENCH_ROUNDS=3 BENCH_LATENCY=2000
// BENCH_WORKLOADS=small,200k,640k,mix BENCH_SYSCALLS=1 BENCH_LATENCY_WORKLOAD=small BENCH_BASE_ROOT=)
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, envInt, helper, median, printTable, RESULTS, stats, writeResult } from './lib/env.mjs';
import { dataPayload, openConnections, sendAll } from './lib/mta.mjs';
import { smallMessage, voicemailMessage } from './lib/messages.mjs';
import { summariseProfile } from './lib/profile.mjs';
import { cpuMs, machineBusyMs } from './lib/proc.mjs';
import { startPipeRelay } from './lib/pipe-relay.mjs';
import { startServe } from './lib/serve.mjs';
import { countSyscalls } from './lib/syscalls.mjs';

const N = envInt('BENCH_MESSAGES', 1000);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const LATENCY_N = envInt('BENCH_LATENCY', 2000);
const PROFILE = process.env.BENCH_PROFILE === '1';
const SYSCALLS = process.env.BENCH_SYSCALLS === '1';
const LATENCY_WORKLOAD = process.env.BENCH_LATENCY_WORKLOAD ?? 'small';
const SELECTED = (process.env.BENCH_WORKLOADS ?? 'small,200k,640k,mix').split(',');
const TRANSPORT = process.env.BENCH_TRANSPORT ?? 'tcp';
if (!['tcp', 'unix'].includes(TRANSPORT)) throw new Error(`BENCH_TRANSPORT: tcp or unix, not ${TRANSPORT}`);
const USERS = Array.from({ length: 50 }, (_, i) => `u${i}@example.org`);

// built once, outside the timing: 100 small messages, 10 voicemails of 200 KB and 10 of 640 KB
const SMALL = Array.from({ length: 100 }, (_, i) => dataPayload(smallMessage(i)));
const VOICE = Array.from({ length: 10 }, (_, i) => dataPayload(voicemailMessage(i)));
const VOICE640 = Array.from({ length: 10 }, (_, i) => dataPayload(voicemailMessage(i, 640 * 1024)));
const WORKLOADS = {
    small: i => ({ rcpts: [USERS[i % USERS.length]], payload: SMALL[i % SMALL.length] }),
    '200k': i => ({ rcpts: [USERS[i % USERS.length]], payload: VOICE[i % VOICE.length] }),
    '640k': i => ({ rcpts: [USERS[i % USERS.length]], payload: VOICE640[i % VOICE640.length] }),
    // one message in five is a 200 KB voicemail (Asterisk headers, base64 WAV: the MIME scan runs)
    mix: i => ({ rcpts: [USERS[i % USERS.length]], payload: i % 5 === 4 ? VOICE[i % VOICE.length] : SMALL[i % SMALL.length] })
};

ensureBuilt();
const { startDovecot } = await helper('dovecot.ts');
const dovecot = await startDovecot({ users: USERS });
const profileDir = path.join(RESULTS, 'profiles');
if (PROFILE) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
}
// BENCH_STATE_DIR: the serve child's state directory (journal, index), e.g. on tmpfs to see what its fsyncs cost
const stateDir = process.env.BENCH_STATE_DIR ? { stateDir: mkdtempSync(path.join(process.env.BENCH_STATE_DIR, 'vmb-bench-')) } : {};
// BENCH_TRANSPORT=unix: every LMTP hop on a unix socket — the MTA to Dovecot's (direct) or to serve's
// (`--lmtp unix:`, Postfix's lmtp:unix:), serve and the relay to Dovecot's (`lmtp:/run/dovecot/lmtp`,
// as examples/systemd deploys it); tcp: every hop over loopback TCP
const UNIX = TRANSPORT === 'unix';
const sockDir = UNIX ? mkdtempSync(path.join(os.tmpdir(), 'vmb-bench-lmtp-')) : undefined;
const downstream = UNIX ? `lmtp:${dovecot.lmtpSocket}` : dovecot.lmtpUrl;
const listen = name => (UNIX ? { lmtp: `unix:${path.join(sockDir, name)}` } : {});
const serve = await startServe(
    'delivery',
    { deliver: downstream, resolver: 'memory', ...listen('vmbridge'), ...stateDir },
    { nodeArgs: PROFILE ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [] }
);
const relay = await startPipeRelay(UNIX ? dovecot.lmtpSocket : dovecot.lmtpPort, UNIX ? path.join(sockDir, 'relay') : undefined);
const BASE_ROOT = process.env.BENCH_BASE_ROOT;
const baseStateDir = BASE_ROOT ? mkdtempSync(path.join(process.env.BENCH_STATE_DIR ?? RESULTS, 'vmb-bench-base-')) : undefined;
const base = BASE_ROOT
    ? await startServe('delivery-baseline', { deliver: downstream, resolver: 'memory', ...listen('baseline'), stateDir: baseStateDir }, { root: BASE_ROOT })
    : undefined;
let sent = 0;
try {
    const targets = { direct: UNIX ? dovecot.lmtpSocket : dovecot.lmtpPort, relay: relay.port, vmbridge: serve.lmtpPort, ...(base ? { baseline: base.lmtpPort } : {}) };
    const paths = Object.keys(targets);
    // the processes whose CPU time per message is reported
    const pids = { relay: relay.pid, vmbridge: serve.pid, ...(base ? { baseline: base.pid } : {}) };
    // warm-up: JIT, Dovecot's auth and lmtp processes, the bridge's downstream pool
    for (const port of Object.values(targets)) {
        const conns = await openConnections(port, 8);
        sent += (await sendAll(conns, 400, WORKLOADS.small)).ok;
        conns.forEach(c => c.close());
    }

    const throughput = [];
    const writes = [];
    for (const workload of SELECTED) {
        if (SYSCALLS) {
            // untimed: strace slows the child; one connection, as many messages as a round
            const [conn] = await openConnections(targets.vmbridge, 1);
            const count = Math.ceil(messagesFor(workload) / 2);
            const { result, counts } = await countSyscalls(serve.pid, path.join(RESULTS, 'delivery.strace'), () => sendAll([conn], count, WORKLOADS[workload]));
            conn.close();
            sent += result.ok;
            const per = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Math.round((v / count) * 10) / 10]));
            writes.push({ workload, messages: count, ...per });
        }
        for (const connCount of [1, 8]) {
            const conns = {};
            const rates = {};
            const cpuUsed = {};
            let directBusy = 0; // the whole machine's CPU while the direct path ran (Dovecot, the client, the kernel)
            for (const p of paths) {
                conns[p] = await openConnections(targets[p], connCount);
                rates[p] = [];
                cpuUsed[p] = 0;
            }
            const count = connCount === 1 ? Math.ceil(messagesFor(workload) / 2) : messagesFor(workload);
            for (let r = 0; r < ROUNDS; r++) {
                // each round in another order (rotated), so drift hits every path alike
                for (const path of [...paths.slice(r % paths.length), ...paths.slice(0, r % paths.length)]) {
                    const cpu0 = pids[path] && cpuMs(pids[path]);
                    const busy0 = machineBusyMs();
                    const res = await sendAll(conns[path], count, WORKLOADS[workload]);
                    if (pids[path]) cpuUsed[path] += cpuMs(pids[path]) - cpu0;
                    if (path === 'direct') directBusy += machineBusyMs() - busy0;
                    if (res.failed) throw new Error(`${path}: ${res.failed} messages not stored`);
                    sent += res.ok;
                    rates[path].push(res.rate);
                }
            }
            Object.values(conns)
                .flat()
                .forEach(c => c.close());
            const d = median(rates.direct);
            const b = median(rates.vmbridge);
            const rl = median(rates.relay);
            const perMsg = p => round3(cpuUsed[p] / (count * ROUNDS));
            // What 0.9 leaves serve: at 0.9 of direct's rate a message may take 1/0.9 of direct's wall
            // time; the machine's cores in that time, less what the direct path itself used (measured),
            // is the CPU serve may spend per message. The time budget: the 1/9 of direct's wall time
            // per message a connection can add (what binds at 1 connection, where cores sit idle).
            const wallMs = 1000 / d;
            const directCpu = directBusy / (count * ROUNDS);
            const budget = {
                'direct machine CPU ms/msg': round3(directCpu),
                'serve CPU budget at 0.9': round3(Math.max(0, (os.cpus().length * wallMs) / 0.9 - directCpu)),
                'added ms/msg allowed at 0.9 / vmbridge / relay': `${round3(wallMs / 9)} / ${round3(1000 / b - wallMs)} / ${round3(1000 / rl - wallMs)}`
            };
            const baseline = base
                ? { 'baseline msg/s': Math.round(median(rates.baseline)), 'baseline / direct': round2(median(rates.baseline) / d), 'baseline CPU ms/msg': perMsg('baseline') }
                : {};
            throughput.push({
                workload,
                connections: connCount,
                messages: count * ROUNDS,
                'direct msg/s': Math.round(d),
                'vmbridge msg/s': Math.round(b),
                ratio: round2(b / d),
                // CPU time of the serve child per message: unlike msg/s, barely moved by the neighbours' load
                'serve CPU ms/msg': perMsg('vmbridge'),
                'relay msg/s': Math.round(rl),
                'relay / direct': round2(rl / d),
                'vmbridge / bare relay': round2(b / rl),
                'relay CPU ms/msg': perMsg('relay'),
                ...budget,
                ...baseline,
                rounds: rates
            });
            console.error(
                `throughput ${workload} ×${connCount}: direct ${d.toFixed(0)}/s, relay ${rl.toFixed(0)}/s, vmbridge ${b.toFixed(0)}/s${base ? `, baseline ${median(rates.baseline).toFixed(0)}/s` : ''}`
            );
        }
    }

    // Added latency: one connection each, unloaded, small messages alternating between the paths.
    const [direct] = await openConnections(targets.direct, 1);
    const [bridged] = await openConnections(targets.vmbridge, 1);
    const lat = { direct: [], vmbridge: [] };
    const paired = [];
    for (let i = 0; i < LATENCY_N; i++) {
        const m = WORKLOADS[LATENCY_WORKLOAD](i);
        const order =
            i % 2
                ? [
                      ['vmbridge', bridged],
                      ['direct', direct]
                  ]
                : [
                      ['direct', direct],
                      ['vmbridge', bridged]
                  ];
        const ms = {};
        for (const [name, conn] of order) {
            const r = await conn.send('sender@example.net', m.rcpts, m.payload);
            if (r.codes[0] !== 250) throw new Error(`${name}: ${r.codes}`);
            ms[name] = r.ms;
            lat[name].push(r.ms);
            sent++;
        }
        paired.push(ms.vmbridge - ms.direct);
    }
    direct.close();
    bridged.close();
    const sd = stats(lat.direct);
    const sb = stats(lat.vmbridge);
    const sp = stats(paired);
    const latency = {
        direct: sd,
        vmbridge: sb,
        added: { p50: round3(sb.p50 - sd.p50), p99: round3(sb.p99 - sd.p99) },
        pairedDifference: sp
    };

    const stored = countStored(dovecot.dir);
    if (stored !== sent) throw new Error(`Dovecot stored ${stored} messages, the client got 250 for ${sent}`);

    printTable(
        'Delivery throughput (msgs/s stored; median of alternating rounds)',
        throughput.map(({ rounds: _rounds, ...r }) => r)
    );
    if (writes.length) printTable('System calls of the serve child per message (strace, 1 connection, untimed)', writes);
    printTable(`Reply time per ${LATENCY_WORKLOAD} message, 1 connection, ${LATENCY_N} each (ms)`, [
        { path: 'direct', ...sd },
        { path: 'vmbridge', ...sb },
        {
            path: 'added (vmbridge − direct quantiles)',
            n: '',
            p50: latency.added.p50,
            p90: round3(sb.p90 - sd.p90),
            p99: latency.added.p99,
            max: '',
            mean: round3(sb.mean - sd.mean)
        },
        { path: 'paired difference per message', ...sp }
    ]);
    console.log(`\nall ${sent} messages acknowledged with 250 were found in Dovecot's maildirs`);
    await serve.stop();
    await base?.stop();
    const profile = PROFILE ? summariseProfile(profileDir) : undefined;
    writeResult('delivery', { transport: TRANSPORT, messagesPerRound: N, rounds: ROUNDS, throughput, writes, latency, stored, profile });
} finally {
    await serve.stop();
    await base?.stop();
    await relay.stop();
    if (baseStateDir) rmSync(baseStateDir, { recursive: true, force: true });
    await dovecot.destroy();
    if (stateDir.stateDir) rmSync(stateDir.stateDir, { recursive: true, force: true });
    if (sockDir) rmSync(sockDir, { recursive: true, force: true });
}

/** Messages per round: voicemails are 40–130 times a small message, so fewer of them. */
function messagesFor(workload) {
    return Math.ceil(workload === '640k' ? N / 10 : workload === '200k' ? N / 4 : N);
}

function round2(x) {
    return Math.round(x * 100) / 100;
}

function round3(x) {
    return Math.round(x * 1000) / 1000;
}

/** Files in every user's maildir new/ and cur/. */
function countStored(dir) {
    let n = 0;
    for (const user of readdirSync(path.join(dir, 'mail'))) {
        for (const sub of ['new', 'cur']) {
            try {
                n += readdirSync(path.join(dir, 'mail', user, sub)).length;
            } catch {
                /* no such folder yet */
            }
        }
    }
    return n;
}
