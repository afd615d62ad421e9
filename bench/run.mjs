// `npm run bench`: builds dist/ once, runs every benchmark (each is also runnable alone as
// `node bench/<name>.mjs`), then prints the figures against their targets as a Markdown table and
// writes it to bench/results/summary.md (bench/README.md carries a copy with the machine and date).
// Pass names to run a subset: npm run bench -- delivery memory
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { machine, RESULTS, ROOT } from './lib/env.mjs';
import { verdictOf } from './lib/p99.mjs';

const ALL = ['delivery', 'event-latency', 'event-throughput', 'memory', 'dovecot-cost', 'dovecot-cost-2.4', 'ingest-cpu'];
const names = process.argv.slice(2).length ? process.argv.slice(2) : ALL;

console.error('building dist/ (tsc -p .)');
if (spawnSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) process.exit(1);
const failed = [];
for (const name of names) {
    console.error(`\n=== ${name} ===`);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bench', `${name}.mjs`)], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, BENCH_BUILT: '1' } });
    if (r.status !== 0) failed.push(name);
}

const load = name => {
    try {
        return JSON.parse(readFileSync(path.join(RESULTS, `${name}.json`), 'utf8'));
    } catch {
        return undefined;
    }
};
const rows = [];
const row = (what, figure, target, met) => rows.push(`| ${what} | ${figure} | ${target} | ${met === undefined ? '–' : met ? 'yes' : 'no'} |`);
const d = load('delivery');
if (d) {
    for (const t of d.throughput)
        row(
            `delivery, ${t.workload}, ${t.connections} conn: vmbridge / direct Dovecot`,
            `${t['vmbridge msg/s']} / ${t['direct msg/s']} msg/s = ${t.ratio}`,
            '≥ 0.9',
            t.ratio >= 0.9
        );
    // the anchor: a zero-logic relay child (lib/pipe-relay.mjs) in the same rounds, what the hop alone costs here
    for (const t of d.throughput.filter(t => t['relay msg/s'] !== undefined))
        row(
            `delivery, ${t.workload}, ${t.connections} conn: vmbridge / bare relay (relay / direct); CPU ms/msg serve / relay`,
            `${t['vmbridge / bare relay']} (${t['relay / direct']}); ${t['serve CPU ms/msg']} / ${t['relay CPU ms/msg']}`,
            '',
            undefined
        );
    // what 0.9 would allow, measured in the same rounds (delivery.mjs: the machine's CPU while direct ran)
    for (const t of d.throughput.filter(t => t['serve CPU budget at 0.9'] !== undefined))
        row(
            `delivery, ${t.workload}, ${t.connections} conn: at 0.9, serve CPU ms/msg allowed / used (direct's machine CPU ms/msg); added ms/msg allowed / vmbridge / relay`,
            `${t['serve CPU budget at 0.9']} / ${t['serve CPU ms/msg']} (${t['direct machine CPU ms/msg']}); ${t['added ms/msg allowed at 0.9 / vmbridge / relay']}`,
            '',
            undefined
        );
    for (const w of d.writes ?? [])
        row(`delivery, ${w.workload}: serve's socket writes / reads per message (strace, 1 conn)`, `${w['socket writes']} / ${w['socket reads']}`, '', undefined);
    row('added reply time, small message, p50 / p99', `${d.latency.added.p50} / ${d.latency.added.p99} ms`, 'p99 ≤ 2 ms', d.latency.added.p99 <= 2);
}
const l = load('event-latency');
if (l) {
    // p99 ≤ 5 ms judged by its bootstrap interval: met when it lies wholly at or below, missed
    // wholly above, else undecided (a result without one, from an older run: by the point figure)
    // judged = false: shown without the target (a STORE's time inside Dovecot before its tagged OK)
    const lat = (what, s, judged = true) => {
        const verdict = s.p99ci ? verdictOf(s.p99ci, 5) : s.p99 <= 5 ? 'met' : 'missed';
        const ci = s.p99ci ? ` [${s.p99ci.join(' … ')}]` : '';
        const figure = `${s.p50} / ${s.p99} ms${ci}${s.lost ? ` (${s.lost} lost)` : ''}${judged && verdict === 'undecided' ? ', undecided' : ''}`;
        row(`${what}, p50 / p99${s.p99ci ? ' [p99 95% CI]' : ''}`, figure, judged ? 'p99 ≤ 5 ms' : '', judged && verdict !== 'undecided' ? verdict === 'met' : undefined);
    };
    lat(`event latency, LMTP 250 → PUB subscriber (${l.delivery.ratePerSec} msg/s)`, l.delivery.bus);
    lat(`event latency, LMTP 250 → subscribe()`, l.delivery.subscribe);
    lat(`event latency, entry → PUB subscriber at ${l.entry.ratePerSec}/s`, l.entry.bus);
    lat(`event latency, entry → subscribe() at ${l.entry.ratePerSec}/s`, l.entry.subscribe);
    // one pair of rows per push_notification driver measured (BENCH_STORE_DRIVERS)
    const driverName = { lua: 'Lua script', native: 'native driver' };
    for (const [driver, s] of Object.entries(l.store)) {
        if (s.pending) {
            row(`event latency, IMAP STORE → ${driverName[driver]} → ingest → subscribers`, `pending: ${s.reason}`, 'p99 ≤ 5 ms', undefined);
            continue;
        }
        // from the tagged OK, as the LMTP rows from the 250 (a result from before: from the command)
        if (s.fromReply) {
            lat(`event latency, IMAP STORE's tagged OK → ${driverName[driver]} → ingest → PUB subscriber`, s.fromReply.bus);
            lat(`event latency, IMAP STORE's tagged OK → ${driverName[driver]} → ingest → subscribe()`, s.fromReply.subscribe);
        }
        lat(`event latency, IMAP STORE command sent → ${driverName[driver]} → ingest → PUB subscriber`, s.bus, !s.fromReply);
        lat(`event latency, IMAP STORE command sent → ${driverName[driver]} → ingest → subscribe()`, s.subscribe, !s.fromReply);
    }
}
const e = load('event-throughput');
if (e) {
    row(
        `event throughput to ${e.subscribers} bus + ${e.subscribers} subscribe() subscribers, no loss`,
        `${e.bestWithoutLoss} events/s kept up with (${e.sustainedWithoutLoss}/s with a backlog)`,
        '≥ 20,000/s',
        e.bestWithoutLoss >= 20_000
    );
    // who does the work (CPU ms per event, /proc): past ~25,000/s on 2 cores the receivers are the limit
    const kept = e.rows.filter(r => r['no loss'] === 'yes').at(-1);
    if (kept?.['CPU ms/event: bridge'] !== undefined)
        row(
            `event throughput, CPU ms per event at ${kept['offered/s']}/s: bridge / bus SUB child (10 sockets) / 10 subscribe() streams / memcached`,
            `${kept['CPU ms/event: bridge']} / ${kept['bus SUB child (10 sockets)']} / ${kept['subscribe() streams (this process)']} / ${kept.memcached}`,
            '',
            undefined
        );
    const top = e.rows.at(-1);
    if (e.overload && top)
        row(
            `event overload, ${top['offered/s']}/s offered: subscribe() received after a reset`,
            e.overload.phases
                ? `${e.overload.resetAndContinued ? 'yes' : 'no'} (${top['subscribe(): lost']} dropped, ${top['subscribe(): resets']} resets; afterwards ${e.overload.after?.received} of ${e.overload.after?.sent} at 1,000/s received)`
                : `no loss at any offered rate (${top['subscribe(): delivered/s (all 10)']}/s delivered at the top one)`,
            'no cliff: reset, then later events',
            !e.overload.phases || e.overload.resetAndContinued
        );
}
const m = load('memory');
if (m) {
    row(`peak RSS, 8 concurrent ${m.large.sizeMb} MB messages`, `${m.large.peakRssMb} MB (idle ${m.large.idleRssMb} MB)`, '≤ 200 MB', m.large.peakRssMb <= 200);
    // serve with default settings: heap used after a forced GC, warm-up vs end, per target (bench/memory.mjs)
    for (const [target, t] of Object.entries(m.small.targets ?? {})) {
        const top = t.topGrowth.find(g => g['count growth'] > 0);
        row(
            `heap after GC, serve defaults → ${target}, ${m.small.messages} small messages (warm-up ${t.warmupMessages})`,
            `${t.warmupHeapMb} → ${t.endHeapMb} MB: ${t.growthMbPer10k} MB per 10,000${top ? `; most grown: ${top.constructor} +${top['count growth']}` : ''}`,
            `flat: < ${m.small.flatMbPer10k} MB per 10,000`,
            t.flat
        );
    }
}
// LMTP with the hook / without: judged by the CI of the median per-round ratio (bench/lib/ratio.mjs);
// undecided after BENCH_ROUNDS_MAX rounds is shown as such ('–'). A result file from before the
// verdict is judged by its point estimate.
function lmtpRatioRow(what, r, rounds, target) {
    const verdict = r['LMTP verdict'] ?? (r['LMTP ratio'] >= 0.9 ? 'met' : 'missed');
    const ci = r['LMTP ratio 95% CI'] ? ` [${r['LMTP ratio 95% CI']}]` : '';
    row(
        `${what} [95% CI]`,
        `${r['LMTP ratio']}${ci}${verdict === 'undecided' ? `, undecided after ${rounds} rounds` : ''}`,
        target ? '≥ 0.9' : '',
        target ? (verdict === 'met' ? true : verdict === 'missed' ? false : undefined) : undefined
    );
}
// Dovecot-side cost (issue 22 target 1): the hook against the same Dovecot without it, one run.
const dc = load('dovecot-cost');
if (dc) {
    const v = name => dc.rows.find(r => r.variant === name);
    const noise = v('none2'); // a second Dovecot without the hook: "added" when nothing was
    if (noise)
        row(
            'no hook at all against no hook (the noise): LMTP throughput; CPU; STORE time "added" p50 / p99 [p99 95% CI]',
            `${noise['LMTP ratio']}; ${noise['CPU ratio']}; ${noise['p50 added']} / ${noise['p99 added']} ms [${noise['p99 added 95% CI']}]`,
            '',
            undefined
        );
    for (const name of ['native', 'native-nice0', 'native-tcp', 'native-down', 'unix', 'tcp', 'ox']) {
        const r = v(name);
        if (!r) continue;
        const hook = name === 'ox' ? "Dovecot's OX driver (anchor)" : r.transport;
        const target = name.startsWith('native') && name !== 'native-nice0'; // nice0: serve's old priority, for comparison
        lmtpRatioRow(`Dovecot LMTP throughput with the hook / without, ${hook}`, r, dc.rounds, target);
        row(`Dovecot CPU per LMTP message with the hook / without (load-independent), ${hook}`, `${r['CPU ratio']}`, '', undefined);
        if (name === 'ox') continue; // OX acts on new mail only: its STOREs cost nothing to compare
        // p99 judged by its CI (the verdict), not the point estimate: 2,000 STOREs put it anywhere
        // in ±1 ms of the truth; undecided after BENCH_STORES_MAX is shown as such ('–').
        const p99 = r['p99 verdict'] ?? (r['p99 added'] <= 1 ? 'met' : 'missed');
        const met = r['p50 added'] > 0.3 || p99 === 'missed' ? false : p99 === 'met' ? true : undefined;
        row(
            `IMAP STORE time added by the hook, p50 / p99 [p99 95% CI], ${hook}`,
            `+${r['p50 added']} / +${r['p99 added']} ms [${r['p99 added 95% CI']}]${p99 === 'undecided' ? `, p99 undecided after ${dc.stores} STOREs` : ''}`,
            target ? '≤ +0.3 / ≤ +1 ms' : '',
            target ? met : undefined
        );
    }
}
// The same on Dovecot 2.4 (the tests' trixie root, bench/dovecot-cost-2.4.mjs): the native driver there.
const dc24 = load('dovecot-cost-2.4');
if (dc24) {
    const v = name => dc24.rows.find(r => r.variant === name);
    const noise = v('none2');
    if (noise) row('Dovecot 2.4: no hook against no hook (the noise): LMTP throughput; CPU', `${noise['LMTP ratio']}; ${noise['CPU ratio']}`, '', undefined);
    for (const name of ['native', 'native-tcp', 'native-down', 'unix', 'tcp']) {
        const r = v(name);
        if (!r) continue;
        const target = name.startsWith('native');
        lmtpRatioRow(`Dovecot 2.4 LMTP throughput with the hook / without, ${r.transport}`, r, dc24.rounds, target);
        row(`Dovecot 2.4 CPU per LMTP message with the hook / without (load-independent), ${r.transport}`, `${r['CPU ratio']}`, '', undefined);
        row(
            `Dovecot 2.4 IMAP STORE time added by the hook, p50 / p99 [p99 95% CI], ${r.transport}`,
            `+${r['p50 added']} / +${r['p99 added']} ms [${r['p99 added 95% CI']}]`,
            target ? '≤ +0.3 / ≤ +1 ms' : '',
            target ? r['p50 added'] <= 0.3 && r['p99 added'] <= 1 : undefined
        );
    }
}
// What serve spends per new message the hook reports, without Dovecot on the same cores (target 1's
// LMTP rows: serve's CPU beside Dovecot's), one per batch as when it keeps up, and four.
const ic = load('ingest-cpu');
if (ic) {
    const [one, four] = ic.rows;
    row(
        `serve CPU µs per new message from the hook (main thread + other threads), 1 / 4 per batch at ${ic.rate}/s; hook → bus p50 / p99`,
        `${one['serve CPU µs/msg']} (${one['main thread']} + ${one['other threads']}) / ${four['serve CPU µs/msg']} (${four['main thread']} + ${four['other threads']}); ${one['hook → bus p50 ms']} / ${one['hook → bus p99 ms']} ms`,
        '',
        undefined
    );
}
const mc = machine();
const summary = [
    `Machine: ${mc.cores} cores (${mc.cpu}), ${mc.memGb} GB, Node ${mc.node}, load average at the end ${mc.load.join(' ')}; ${new Date().toISOString()}`,
    '',
    '| measure | figure | target | met |',
    '|---|---|---|---|',
    ...rows
].join('\n');
writeFileSync(path.join(RESULTS, 'summary.md'), summary + '\n');
console.log('\n' + summary);
if (failed.length) {
    console.error(`\nfailed: ${failed.join(', ')}`);
    process.exit(1);
}
