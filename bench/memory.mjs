// Benchmark 5: memory of the vmbridge process (`serve` children):
//   a. peak RSS (VmHWM) while relaying 8 concurrent 25 MB messages (--max-size raised to 64 MB)
//   b. serve with its DEFAULT settings (state directory ./var, memory resolver, --hook auto; only
//      its listeners on free ports), BENCH_SMALL small messages over 8 connections, per target
//      (maildir: the default maildir:./var/mail; dovecot: Dovecot LMTP with the push_notification
//      hook, so the correlator, uid index and journal work per message). Every BENCH_STEP messages:
//      V8's heap used after a forced full GC (over the inspector) and RSS; heap snapshots after
//      BENCH_WARMUP messages (and, with the hook, 130 s: the MAC replay window must have filled) and
//      at the end, compared constructor by constructor (node counts).
//      Flat: heap after GC grows < 1 MB per 10,000 messages after warm-up.
// Run: node bench/memory.mjs   (env: BENCH_SMALL=20000 BENCH_STEP=2000 BENCH_WARMUP=10000
//      BENCH_TARGETS=maildir,dovecot BENCH_FULL=1 (100,000 messages, a sample every 10,000)
//      BENCH_SNAPSHOTS=1 (keep the .heapsnapshot files in bench/results/ for DevTools))
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dist, ensureBuilt, envInt, helper, printTable, RESULTS, rss, writeResult } from './lib/env.mjs';
import { growth, inspect } from './lib/heap.mjs';
import { dataPayload, openConnections, sendAll } from './lib/mta.mjs';
import { smallMessage, voicemailMessage } from './lib/messages.mjs';
import { startServe } from './lib/serve.mjs';

const FULL = process.env.BENCH_FULL === '1';
const SMALL = envInt('BENCH_SMALL', FULL ? 100_000 : 20_000);
const STEP = envInt('BENCH_STEP', FULL ? 10_000 : 2000);
// Time-bounded state must have filled up too: the ingest remembers each hook MAC for its 120 s
// replay window (src/limits.ts HOOK_MAC_WINDOW_SEC), so with the hook warm-up lasts at least 130 s.
const WARMUP_SEC = { maildir: envInt('BENCH_WARMUP_SEC', 0), dovecot: envInt('BENCH_WARMUP_SEC', 130) };
const TARGETS = (process.env.BENCH_TARGETS ?? 'maildir,dovecot').split(',');
const SNAPSHOTS = process.env.BENCH_SNAPSHOTS === '1';
/** samples after the warm-up, at least */
const AFTER = 4;
/** MB of heap (after a full GC) per 10,000 messages after warm-up below which memory counts as flat */
const FLAT_MB = 1;
const BIG_MB = 25;
const USERS = Array.from({ length: 50 }, (_, i) => `m${i}@example.org`);
const TOKEN = 'bench-memory-token-0123456789abcdef';
const mb = bytes => Math.round(bytes / 1024 / 102.4) / 10;

ensureBuilt();
const { JOIN_DONE_MAX } = await dist('limits.js');
// Count-bounded state must have reached its bound: without the hook the delivery join remembers up
// to JOIN_DONE_MAX (10,000) copies, so warm-up is at least that many messages.
const WARMUP = envInt('BENCH_WARMUP', Math.max(STEP, JOIN_DONE_MAX));
const { startDovecot } = await helper('dovecot.ts');
const { freePort } = await helper('net.ts');
const { hookFragment } = await helper('hook-fragment.ts');
const dovecot = await startDovecot({ users: USERS });
const serve = await startServe('memory', { deliver: dovecot.lmtpUrl, resolver: 'memory', maxSize: 64 * 1024 * 1024 });
let bigResult;
try {
    const idle = rss(serve.pid);
    // a. 8 × 25 MB at once; sampled every 50 ms as well as the kernel's high-water mark
    const big = dataPayload(voicemailMessage(0, BIG_MB * 1024 * 1024));
    const conns = await openConnections(serve.lmtpPort, 8);
    let sampled = 0;
    const sampler = setInterval(() => (sampled = Math.max(sampled, rss(serve.pid).rssMb)), 50);
    const t0 = performance.now();
    const bigRun = await sendAll(conns, 8, i => ({ rcpts: [USERS[i]], payload: big }));
    clearInterval(sampler);
    if (bigRun.failed) throw new Error(`${bigRun.failed} large messages not stored`);
    const afterBig = rss(serve.pid);
    const large = {
        messages: 8,
        sizeMb: Math.round(big.length / 2 ** 20),
        seconds: Math.round((performance.now() - t0) / 100) / 10,
        idleRssMb: idle.rssMb,
        peakRssMb: afterBig.peakMb,
        sampledPeakMb: sampled
    };
    console.error(`8 × ${BIG_MB} MB: peak RSS ${afterBig.peakMb} MB`);

    conns.forEach(c => c.close());
    printTable(`Peak RSS relaying 8 concurrent ${BIG_MB} MB messages (MB)`, [large]);
    bigResult = large;
} finally {
    await serve.stop();
    await dovecot.destroy();
}

// b. serve with its default settings, small messages: heap after a forced GC every STEP
const small = {};
for (const target of TARGETS) small[target] = await smallRun(target);
writeResult('memory', { large: bigResult, small: { messages: SMALL, step: STEP, warmup: WARMUP, flatMbPer10k: FLAT_MB, targets: small } });

/**
 * One `serve` with default settings (state directory ./var, memory resolver, --hook auto) in a
 * fresh directory; only its listeners are on free ports. maildir: the default target
 * (maildir:./var/mail). dovecot: Dovecot LMTP with the push_notification hook reporting back, so
 * the correlator's joins, the uid index and the journal all work per message.
 */
async function smallRun(target) {
    const cwd = mkdtempSync(path.join(tmpdir(), `vmb-mem-${target}-`));
    const inspectPort = await freePort();
    const flags = {};
    let dv;
    let frag;
    if (target === 'dovecot') {
        const ingest = `127.0.0.1:${await freePort()}`;
        frag = hookFragment(['--ingest', ingest, '--ingest-token', TOKEN]);
        dv = await startDovecot({ users: USERS, extraConfig: frag.fragment });
        Object.assign(flags, { deliver: dv.lmtpUrl, ingest, ingestToken: TOKEN });
    }
    const s = await startServe(`memory-${target}`, flags, { defaults: true, cwd, nodeArgs: ['--expose-gc', `--inspect=127.0.0.1:${inspectPort}`] });
    const cdp = await inspect(inspectPort);
    try {
        const conns = await openConnections(s.lmtpPort, 8);
        const payloads = Array.from({ length: 100 }, (_, i) => dataPayload(smallMessage(i)));
        const sample = async (messages, rate) => ({ messages, heapMb: mb(await cdp.heapAfterGc()), ...rss(s.pid), 'msg/s': rate });
        const samples = [await sample(0)];
        const t0 = Date.now();
        let warm;
        let first;
        // at least SMALL messages, and at least AFTER steps after the warm-up (a slow target's warm-up is its 130 s)
        const more = done => done < SMALL || !warm || samples.at(-1).messages - first.messages < AFTER * STEP;
        for (let done = 0; more(done) && done < 5 * SMALL; done += STEP) {
            const r = await sendAll(conns, STEP, i => ({ rcpts: [USERS[(done + i) % USERS.length]], payload: payloads[i % payloads.length] }));
            if (r.failed) throw new Error(`${target}: ${r.failed} small messages not stored`);
            samples.push({ ...(await sample(done + STEP, Math.round(r.rate))), s: Math.round((Date.now() - t0) / 1000) });
            console.error(target, JSON.stringify(samples.at(-1)));
            if (!warm && done + STEP >= WARMUP && Date.now() - t0 >= WARMUP_SEC[target] * 1000) {
                first = samples.at(-1);
                warm = await cdp.snapshot(SNAPSHOTS && path.join(RESULTS, `memory-${target}-warm.heapsnapshot`));
            }
        }
        conns.forEach(c => c.close());
        const last = samples.at(-1);
        if (!warm || first === last) throw new Error(`${target}: warm-up (${WARMUP} messages and ${WARMUP_SEC[target]} s) not over before the end: raise BENCH_SMALL`);
        const end = await cdp.snapshot(SNAPSHOTS && path.join(RESULTS, `memory-${target}-end.heapsnapshot`));
        const per10k = Math.round(((last.heapMb - first.heapMb) / ((last.messages - first.messages) / 10_000)) * 100) / 100;
        const top = growth(warm, end);
        printTable(
            `serve with default settings, ${target}: heap used after a forced GC and RSS every ${STEP} small messages (MB)`,
            samples.map(x => ({ messages: x.messages, s: x.s ?? 0, 'heap MB': x.heapMb, 'rss MB': x.rssMb, 'msg/s': x['msg/s'] ?? '' }))
        );
        printTable(`${target}: constructors by count growth, snapshot after ${first.messages} → after ${last.messages} messages`, top);
        console.log(
            `\n${target}: heap after GC ${first.heapMb} → ${last.heapMb} MB from ${first.messages} to ${last.messages} messages: ${per10k} MB per 10,000 (flat: < ${FLAT_MB})`
        );
        return {
            samples,
            warmupMessages: first.messages,
            warmupHeapMb: first.heapMb,
            endHeapMb: last.heapMb,
            growthMbPer10k: per10k,
            flat: per10k < FLAT_MB,
            snapshotNodes: { warm: warm.nodes, end: end.nodes },
            topGrowth: top
        };
    } finally {
        cdp.close();
        await s.stop();
        await dv?.destroy();
        frag?.cleanup();
        rmSync(cwd, { recursive: true, force: true });
    }
}
