// What serve (the embedded default: journal and index in the state directory, each journal commit
// fsynced) spends per new message reported by Dovecot's hook, without Dovecot beside it: the
// native driver's stream (one shared connection, a hello without user, then one signed batch per
// line) fed at a fixed rate of new messages into `vmbridge serve` on a unix socket, one MessageNew
// per batch — what the driver sends when serve keeps up — and, as the baseline in the same run,
// four per batch at a quarter of the batches/s (what a loaded serve reads together). Per message:
// serve's CPU (/proc, user + system) on its main thread and on its other threads (the journal
// writer, V8's GC helpers, libuv), and hook line written → bus SUB frame received, p50/p99.
// bench/dovecot-cost.mjs measures the same receiver beside Dovecot, where both share two cores and
// how many messages a batch holds varies run to run; this one holds it fixed.
// Run: node bench/ingest-cpu.mjs   (env: BENCH_RATE=800 BENCH_SECONDS=8 BENCH_PROFILE=1: a cpu profile of
// each serve child, sampled every 100 µs, summarised)
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, envInt, helper, printTable, RESULTS, stats, writeResult } from './lib/env.mjs';
import { threadCpuMs } from './lib/proc.mjs';
import { summariseProfile } from './lib/profile.mjs';
import { startServe } from './lib/serve.mjs';
import { busSubscriber } from './lib/subscribers.mjs';

const RATE = envInt('BENCH_RATE', 800); // new messages/s: about what 8 LMTP connections give Dovecot here
const SECONDS = envInt('BENCH_SECONDS', 8);
const WARMUP = envInt('BENCH_WARMUP', 400); // messages before the measured ones (JIT, first commits)
const PROFILE = process.env.BENCH_PROFILE === '1';
const TOKEN = 'bench-token-0123456789abcdef';
const USERS = ['u0@example.org', 'u1@example.org', 'u2@example.org', 'u3@example.org'];

ensureBuilt();
const { freePort, waitFor } = await helper('net.ts');
const { signedLine } = await helper('hook-sign.ts');

/** A stream line as the driver writes it (the tests' hook-sign.ts). */
const line = obj => signedLine(TOKEN, obj);

/** CPU ms of serve's main thread and of all its other threads together. */
function mainAndOther(pid) {
    const all = threadCpuMs(pid);
    const main = all[String(pid)] ?? 0;
    return { main, other: Object.values(all).reduce((a, b) => a + b, 0) - main };
}

async function variant(name, perBatch) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmb-ingest-cpu-'));
    const publish = `tcp://127.0.0.1:${await freePort()}`;
    const sock = path.join(dir, 'ingest.sock');
    const profDir = path.join(RESULTS, `ingest-cpu-${perBatch}.prof`);
    if (PROFILE) rmSync(profDir, { recursive: true, force: true });
    const serve = await startServe(
        `ingest-cpu-${name}`,
        { ingest: `unix:${sock}`, ingestToken: TOKEN, publish, stateDir: path.join(dir, 'state'), deliver: `maildir:${dir}/mail`, logLevel: 'warn' },
        { nodeArgs: PROFILE ? ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', profDir] : [] }
    );
    const sent = new Map();
    const latencies = [];
    let measuring = false;
    let received = 0;
    const bus = await busSubscriber(publish, (frame, at) => {
        const uid = Number(/"uid":(\d+)/.exec(frame.toString('latin1'))?.[1]);
        const t = sent.get(uid);
        if (t === undefined) return;
        sent.delete(uid);
        received++;
        if (measuring) latencies.push(Number(at - t) / 1e6);
    });
    const conn = net.connect(sock);
    await new Promise((resolve, reject) => conn.once('connect', resolve).once('error', reject));
    const proc = `bench-${process.pid}-${name}`;
    conn.write(line({ vmbridge: 2, proc, ts: Date.now() / 1000 }));
    let seq = 0; // messages (their uid)
    let batch = 0;
    /** One batch: `perBatch` new messages of one user (a transaction's, as the driver groups them). */
    const send = () => {
        batch++;
        const user = USERS[batch % USERS.length];
        const t = process.hrtime.bigint();
        const events = Array.from({ length: perBatch }, () => {
            seq++;
            sent.set(seq, t);
            return {
                name: 'MessageNew',
                mailbox: 'INBOX',
                uid: seq,
                uid_validity: 1234,
                message_id: `<m${seq}@example.org>`,
                storage_name: 'INBOX',
                storage_sep: '/',
                flags: [],
                keywords: []
            };
        });
        conn.write(line({ proc, seq: batch, ts: Date.now() / 1000, user, session: '', events }));
    };
    /** n messages at RATE, paced by the clock (a few batches per timer tick), then every event on the bus. */
    const run = async n => {
        const start = performance.now();
        const first = seq;
        while (seq - first < n) {
            const due = Math.min(n, Math.floor(((performance.now() - start) * RATE) / 1000)) - (seq - first);
            for (let i = 0; i < Math.floor(due / perBatch); i++) send();
            await new Promise(resolve => setTimeout(resolve, 2));
        }
        await waitFor(() => received === seq, 30_000, `${name}: every event on the bus`);
    };
    try {
        // The SUB connects in the background: one batch at a time until one arrives, then counting starts.
        await waitFor(
            async () => {
                send();
                await new Promise(resolve => setTimeout(resolve, 50));
                return received > 0;
            },
            10_000,
            `${name}: the bus subscriber connected`
        );
        sent.clear();
        received = seq;
        await run(WARMUP);
        const cpu0 = mainAndOther(serve.pid);
        measuring = true;
        const n = RATE * SECONDS;
        await run(n);
        const cpu1 = mainAndOther(serve.pid);
        const per = k => Math.round(((cpu1[k] - cpu0[k]) * 1000) / n);
        const lat = stats(latencies);
        return {
            variant: name,
            messages: n,
            'serve CPU µs/msg': per('main') + per('other'),
            'main thread': per('main'),
            'other threads': per('other'),
            'hook → bus p50 ms': lat.p50,
            'hook → bus p99 ms': lat.p99
        };
    } finally {
        conn.destroy();
        bus.close();
        await serve.stop();
        rmSync(dir, { recursive: true, force: true });
        if (PROFILE) summariseProfile(profDir, 40);
    }
}

const rows = [await variant('1 per batch', 1), await variant('4 per batch', 4)];
rows[0]['CPU / 4 per batch'] = Math.round((rows[0]['serve CPU µs/msg'] / rows[1]['serve CPU µs/msg']) * 100) / 100;
printTable(`serve per new message from the hook (${RATE} messages/s for ${SECONDS} s, native-driver stream on a unix socket, embedded state)`, rows);
writeResult('ingest-cpu', { rate: RATE, seconds: SECONDS, rows });
