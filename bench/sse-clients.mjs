// 1,000 concurrent SSE clients on one bridge (--http): the bridge child's memory per open stream
// (RSS before and after connecting them), and event latency (event entry → the client's socket)
// at 1,000 events/s spread over the clients' users (one user, one app token, one stream each).
// Run: node bench/sse-clients.mjs   (env: BENCH_CLIENTS=1000 BENCH_RATE=1000 BENCH_SECONDS=5)
import http from 'node:http';
import { ensureBuilt, envInt, helper, dist, nowMs, printTable, rss, stats, writeResult } from './lib/env.mjs';
import { startBridgeChild } from './lib/bridge-child.mjs';

const CLIENTS = envInt('BENCH_CLIENTS', 1000);
const RATE = envInt('BENCH_RATE', 1000);
const SECONDS = envInt('BENCH_SECONDS', 5);

ensureBuilt();
const { freePort, freeStateDir, waitFor } = await helper('net.ts');
const { TokenStore } = await dist('http/tokens.js');
const stateDir = freeStateDir();
const users = Array.from({ length: CLIENTS }, (_, i) => `sse${i}@example.org`);
const store = new TokenStore(stateDir);
const tokens = users.map(u => store.create(u).token);
store.close();
const port = await freePort();
const bridge = await startBridgeChild('sse-clients', { deliver: 'maildir:./var/bench-mail', stateDir, http: `127.0.0.1:${port}`, logLevel: 'warn' });

let tag = 'probe';
const latencies = [];
let received = 0;
const reqs = [];
const opened = new Set();
function connect(i) {
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/events', agent: false, headers: { authorization: `Bearer ${tokens[i]}` } }, res => {
        res.setEncoding('utf8');
        res.on('data', chunk => {
            opened.add(i);
            const at = nowMs();
            for (const m of chunk.matchAll(/"id":"([a-z0-9]+)\.(\d+)\./g)) {
                if (m[1] !== tag) continue;
                received++;
                latencies.push(at - Number(BigInt(m[2])) / 1e6);
            }
        });
    });
    req.on('error', () => undefined);
    reqs.push(req);
}

const rows = [];
try {
    await new Promise(r => setTimeout(r, 500));
    const before = rss(bridge.pid).rssMb;
    for (let i = 0; i < CLIENTS; i++) {
        connect(i);
        if (i % 100 === 99) await new Promise(r => setTimeout(r, 10)); // no SYN flood
    }
    await waitFor(() => opened.size === CLIENTS, 60_000, 'every stream open');
    await new Promise(r => setTimeout(r, 1000)); // settle
    const after = rss(bridge.pid).rssMb;
    // every stream live: one probe per user reaches it
    await bridge.emit({ count: CLIENTS, rate: 0, users, tag: 'probe' });
    tag = 'sse';
    const count = RATE * SECONDS;
    await bridge.emit({ count, rate: RATE, users, tag });
    await waitFor(() => received >= count, 30_000, 'every event').catch(() => undefined);
    const s = stats(latencies);
    rows.push({
        clients: CLIENTS,
        'rss before (MB)': before,
        'rss with clients (MB)': after,
        'KB per client': (((after - before) * 1024) / CLIENTS).toFixed(1),
        'events/s': RATE,
        received: `${received}/${count}`,
        'p50 (ms)': s.p50,
        'p99 (ms)': s.p99,
        'max (ms)': s.max
    });
    printTable(`${CLIENTS} SSE clients on one bridge, ${RATE} events/s for ${SECONDS} s`, rows);
    writeResult('sse-clients', { rows });
} finally {
    for (const r of reqs) r.destroy();
    await bridge.stop();
}
