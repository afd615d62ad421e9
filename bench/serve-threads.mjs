// serve's CPU per small message by thread (/proc/<pid>/task/*/stat: user + system time, so it does
// not depend on the load much): the main thread (event loop), the busiest other thread (the
// journal writer in builds that had one; now a GC helper or the checkpoint thread) and the rest. ROOTS=<build>,<build>… runs each build (a copy with bin/ and dist/)
// as its own serve in front of the same Dovecot, rounds alternating between them: before/after
// a change in one run. Knobs: ROOTS (default this checkout), BENCH_ROUNDS=3, BENCH_MESSAGES=2000
// (per round at 8 connections; half at 1), BENCH_WORKLOAD=small|200k|640k; `sys` = the kernel's share
// (socket sends and receives, fsync) of the total.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureBuilt, envInt, helper, median, printTable, RESULTS, ROOT } from './lib/env.mjs';
import { dataPayload, openConnections, sendAll } from './lib/mta.mjs';
import { smallMessage, voicemailMessage } from './lib/messages.mjs';
import { statFields, threadCpuMs } from './lib/proc.mjs';
import { startServe } from './lib/serve.mjs';

const ROUNDS = envInt('BENCH_ROUNDS', 3);
const N = envInt('BENCH_MESSAGES', 2000);
const ROOTS = (process.env.ROOTS ?? ROOT).split(',');
const USERS = Array.from({ length: 50 }, (_, i) => `u${i}@example.org`);
const WORKLOAD = process.env.BENCH_WORKLOAD ?? 'small';
const KB = { '200k': 200, '640k': 640 }[WORKLOAD];
const PAYLOADS = Array.from({ length: KB ? 10 : 100 }, (_, i) => dataPayload(KB ? voicemailMessage(i, KB * 1024) : smallMessage(i)));
const small = i => ({ rcpts: [USERS[i % USERS.length]], payload: PAYLOADS[i % PAYLOADS.length] });
const sysMs = pid => Number(statFields(`/proc/${pid}/stat`)[12]) * 10;

ensureBuilt();
const { startDovecot } = await helper('dovecot.ts');
// the state directories first: nothing started yet can be left running if this fails
mkdirSync(RESULTS, { recursive: true });
const dirs = ROOTS.map((_, i) => mkdtempSync(path.join(RESULTS, `threads-${i}-`)));
const dovecot = await startDovecot({ users: USERS });
const serves = [];
try {
    for (const [i, root] of ROOTS.entries()) serves.push(await startServe(`threads-${i}`, { deliver: dovecot.lmtpUrl, resolver: 'memory', stateDir: dirs[i] }, { root }));
    for (const s of serves) {
        const conns = await openConnections(s.lmtpPort, 8); // warm-up: JIT, the downstream pool, the writer thread
        await sendAll(conns, 400, small);
        conns.forEach(c => c.close());
    }
    const rows = [];
    for (const connCount of [1, 8]) {
        const count = connCount === 1 ? N / 2 : N;
        const per = serves.map(() => ({ total: [], main: [], writer: [], other: [], sys: [] }));
        for (let r = 0; r < ROUNDS; r++) {
            for (const [i, s] of serves.entries()) {
                const conns = await openConnections(s.lmtpPort, connCount);
                const before = threadCpuMs(s.pid);
                const sys0 = sysMs(s.pid);
                const res = await sendAll(conns, count, small);
                const after = threadCpuMs(s.pid);
                per[i].sys.push((sysMs(s.pid) - sys0) / count);
                conns.forEach(c => c.close());
                if (res.failed) throw new Error(`${res.failed} messages not stored`);
                const used = Object.entries(after)
                    .map(([tid, ms]) => [tid, ms - (before[tid] ?? 0)])
                    .sort((a, b) => b[1] - a[1]);
                const main = used.find(([tid]) => tid === String(s.pid))[1];
                // the busiest thread besides the main one (a build with a journal writer: that one)
                const [writer = 0, ...rest] = used.filter(([tid]) => tid !== String(s.pid)).map(([, ms]) => ms);
                const other = rest.reduce((a, b) => a + b, 0);
                per[i].total.push((main + writer + other) / count);
                per[i].main.push(main / count);
                per[i].writer.push(writer / count);
                per[i].other.push(other / count);
            }
        }
        for (const [i, p] of per.entries()) {
            const m = k => Math.round(median(p[k]) * 1000) / 1000;
            rows.push({
                build: ROOTS[i],
                connections: connCount,
                messages: count * ROUNDS,
                'CPU ms/msg': m('total'),
                main: m('main'),
                'busiest other': m('writer'),
                other: m('other'),
                sys: m('sys')
            });
        }
    }
    printTable(`serve CPU per ${WORKLOAD} message by thread (median of rounds, ms)`, rows);
} finally {
    for (const s of serves) await s.stop();
    await dovecot.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
