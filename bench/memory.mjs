// Benchmark 5: memory of the vmbridge process (a `serve` child, LMTP → Dovecot LMTP):
//   a. peak RSS (VmHWM) while relaying 8 concurrent 25 MB messages (--max-size raised to 64 MB)
//   b. RSS every BENCH_STEP small messages over BENCH_SMALL of them (8 connections): flat after
//      warm-up means no growth per message. BENCH_FULL=1 runs the 100,000-message version.
// Run: node bench/memory.mjs   (env: BENCH_SMALL=20000 BENCH_STEP=2000 BENCH_JOURNAL_MAX, BENCH_FULL=1)
import { ensureBuilt, envInt, helper, printTable, rss, writeResult } from './lib/env.mjs';
import { dataPayload, openConnections, sendAll } from './lib/mta.mjs';
import { smallMessage, voicemailMessage } from './lib/messages.mjs';
import { startServe } from './lib/serve.mjs';

const FULL = process.env.BENCH_FULL === '1';
const SMALL = envInt('BENCH_SMALL', FULL ? 100_000 : 20_000);
const STEP = envInt('BENCH_STEP', FULL ? 10_000 : 2000);
const BIG_MB = 25;
const USERS = Array.from({ length: 50 }, (_, i) => `m${i}@example.org`);

ensureBuilt();
const { startDovecot } = await helper('dovecot.ts');
const dovecot = await startDovecot({ users: USERS });
// BENCH_JOURNAL_MAX: serve's --journal-max (default 10,000 events per user, kept for 3 h in process
// with the memory resolver: the journal's share of RSS grows with it, by design)
const journal = process.env.BENCH_JOURNAL_MAX ? { journalMax: Number(process.env.BENCH_JOURNAL_MAX) } : {};
const serve = await startServe('memory', { deliver: dovecot.lmtpUrl, resolver: 'memory', maxSize: 64 * 1024 * 1024, ...journal });
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

    // b. small messages, RSS every STEP
    const payloads = Array.from({ length: 100 }, (_, i) => dataPayload(smallMessage(i)));
    const samples = [{ messages: 0, ...rss(serve.pid) }];
    for (let done = 0; done < SMALL; done += STEP) {
        const r = await sendAll(conns, STEP, i => ({ rcpts: [USERS[i % USERS.length]], payload: payloads[i % payloads.length] }));
        if (r.failed) throw new Error(`${r.failed} small messages not stored`);
        samples.push({ messages: done + STEP, ...rss(serve.pid), 'msg/s': Math.round(r.rate) });
        console.error(JSON.stringify(samples.at(-1)));
    }
    conns.forEach(c => c.close());
    // growth after warm-up: the second half of the run against its first sample
    const half = samples[Math.floor(samples.length / 2)];
    const growthMb = Math.round((samples.at(-1).rssMb - half.rssMb) * 10) / 10;
    printTable(`Peak RSS relaying 8 concurrent ${BIG_MB} MB messages (MB)`, [large]);
    printTable(
        `RSS of the serve process over ${SMALL} small messages (MB)`,
        samples.map(s => ({ messages: s.messages, 'rss MB': s.rssMb, 'peak MB': s.peakMb, 'msg/s': s['msg/s'] ?? '' }))
    );
    console.log(`\nRSS change over the second half (${half.messages} → ${samples.at(-1).messages} messages): ${growthMb} MB`);
    writeResult('memory', { journalMax: journal.journalMax ?? 10_000, large, small: { messages: SMALL, step: STEP, samples, secondHalfGrowthMb: growthMb } });
} finally {
    await serve.stop();
    await dovecot.destroy();
}
