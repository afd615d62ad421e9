// One 70,000-event hook batch (a STORE over 70,000 messages) posted to an embedded-default bridge:
// how long until all are published, and the longest event-loop stall meanwhile (bench/README.md).
// Run: npx tsc -p . && node bench/batch-stall.mjs
import { createHmac } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Bridge } from '../dist/bridge.js';
import { loadConfig } from '../dist/config.js';
import { createLogger } from '../dist/log.js';
const dir = mkdtempSync(path.join(tmpdir(), 'stall-'));
const config = loadConfig({ lmtp: '127.0.0.1:0', ingest: '127.0.0.1:0', stateDir: dir, ingestToken: 'x'.repeat(32), logLevel: 'silent', journalMax: 100000 }, {});
const b = new Bridge(config, createLogger('silent'));
const addrs = await b.start();
let seen = 0;
b.events.add({ emit: () => seen++ });
const events = Array.from({ length: 70000 }, (_, i) => ({ name: 'FlagsSet', mailbox: 'INBOX', uid: i + 1, uid_validity: 9, flags: ['\\Seen'] }));
const body = JSON.stringify({ proc: 'p', seq: 1, ts: Date.now() / 1000, user: 'big', session: 's', events });
// signed as dovecot/vmbridge.lua signs: HMAC-SHA256 under the ingest token over the exact body (hook/auth.ts)
const mac = createHmac('sha256', config.ingestToken).update(body).digest('hex');
const h = monitorEventLoopDelay({ resolution: 10 });
h.enable();
const t0 = performance.now();
const r = await fetch(`http://${addrs.ingest}/`, { method: 'POST', headers: { 'x-vmbridge-mac': mac, 'content-type': 'application/json' }, body });
while (seen < 70000 && performance.now() - t0 < 60000) await new Promise(r => setTimeout(r, 20));
h.disable();
console.log(
    'status',
    r.status,
    'published',
    seen,
    'in',
    Math.round(performance.now() - t0),
    'ms; max event-loop delay',
    Math.round(h.max / 1e6),
    'ms, p99',
    Math.round(h.percentile(99) / 1e6),
    'ms'
);
await b.stop();
rmSync(dir, { recursive: true, force: true });
