// Who ran while each IMAP STORE of bench/dovecot-cost.mjs was in flight: its scheduler trace
// (`perf sched record`, system-wide) cut into the STOREs' windows [start, start + round trip], CPU
// time summed by task class. It tells what a slow STORE waited for: the benchmark's client
// itself, the variant's imap process, its receiver (serve, woken by the driver's batch), the
// other variants' processes, anything else on the machine, or nothing (both CPUs idle).
//   flock /tmp/bench.lock perf sched record -k CLOCK_MONOTONIC -o /tmp/sched.data -- node bench/dovecot-cost.mjs
//   node bench/store-sched.mjs /tmp/sched.data     (reads bench/results/dovecot-cost.json)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { RESULTS, printTable } from './lib/env.mjs';

const data = process.argv[2];
if (!data) throw new Error('usage: node bench/store-sched.mjs <perf.data of perf sched record -k CLOCK_MONOTONIC>');
const { variants, stores, pids } = JSON.parse(readFileSync(path.join(RESULTS, 'dovecot-cost.json'), 'utf8')).storeSequence;
if (!pids || stores[0]?.length < 5) throw new Error('dovecot-cost.json has no STORE start times: rerun bench/dovecot-cost.mjs');

/** Per CPU, what ran: [start ms, end ms, tid], in order; and each tid's process. */
async function runSegments(file) {
    const perf = spawn('perf', ['script', '-i', file, '-F', 'pid,tid,cpu,time,event,trace'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const tgid = new Map();
    const segs = new Map();
    const current = new Map();
    const line = /^\s*(\d+)\/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\S+):\s+(.*)$/;
    for await (const l of readline.createInterface({ input: perf.stdout })) {
        const m = line.exec(l);
        if (!m) continue;
        tgid.set(Number(m[2]), Number(m[1]));
        if (m[5] !== 'sched_switch') continue;
        const cpu = Number(m[3]);
        const t = Number(m[4]) * 1000;
        const next = Number(/next_pid=(\d+)/.exec(m[6])[1]);
        const cur = current.get(cpu);
        if (cur) (segs.get(cpu) ?? segs.set(cpu, []).get(cpu)).push([cur.since, t, cur.tid]);
        current.set(cpu, { since: t, tid: next });
    }
    return { segs, tgid };
}

const { segs, tgid } = await runSegments(data);
const receivers = pids.receivers.filter(Boolean);
const classOf = (tid, i) => {
    const g = tgid.get(tid) ?? tid;
    if (tid === 0) return 'idle';
    if (g === pids.bench) return 'bench client';
    if (g === pids.imap[i]) return 'own imap';
    if (g === pids.receivers[i]) return 'own receiver';
    if (pids.imap.includes(g) || receivers.includes(g)) return 'other variants';
    return 'rest of machine';
};
const CLASSES = ['bench client', 'own imap', 'own receiver', 'other variants', 'rest of machine', 'idle'];

/** CPU ms of each class inside [t0, t1], both CPUs summed. */
function inside(t0, t1, i) {
    const acc = Object.fromEntries(CLASSES.map(c => [c, 0]));
    for (const list of segs.values()) {
        let lo = 0;
        for (let hi = list.length; lo < hi;) {
            const mid = (lo + hi) >> 1;
            if (list[mid][1] <= t0) lo = mid + 1;
            else hi = mid;
        }
        for (let k = lo; k < list.length && list[k][0] < t1; k++) acc[classOf(list[k][2], i)] += Math.max(0, Math.min(list[k][1], t1) - Math.max(list[k][0], t0));
    }
    return acc;
}

const mean = xs => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const r3 = x => Math.round(x * 1000) / 1000;
const rows = variants.map((name, i) => {
    const mine = stores.filter(s => s[0] === i).map(([, , ms, , at]) => ({ ms, cpu: inside(at, at + ms, i) }));
    mine.sort((a, b) => a.ms - b.ms);
    const slow = mine.slice(Math.floor(mine.length * 0.98));
    const overlap = mine.filter(s => s.cpu['own receiver'] > 0);
    const row = {
        variant: name,
        STOREs: mine.length,
        'own receiver ran inside': `${overlap.length} (${r3(mean(overlap.map(s => s.ms)))} ms mean)`,
        'the rest, mean ms': r3(mean(mine.filter(s => !(s.cpu['own receiver'] > 0)).map(s => s.ms))),
        'slowest 2%, mean ms': r3(mean(slow.map(s => s.ms)))
    };
    for (const c of CLASSES) row[`slowest 2%: ${c} ms`] = r3(mean(slow.map(s => s.cpu[c])));
    return row;
});
printTable('CPU time inside each STORE window, by task (ms, both CPUs summed; idle: a CPU ran nothing)', rows);
