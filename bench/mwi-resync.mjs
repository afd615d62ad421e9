// What a full MWI resync (start, AMI reconnect) costs Dovecot: BENCH_BOXES boxes, each in its own
// Dovecot user (so every recount is a master-user login, as with real mailboxes), recounted by
// vmbridge's MWI stage at each rate in BENCH_RATES (boxes/s; "max" = unpaced). Meanwhile a probe
// session of another user runs NOOP + STATUS round trips: its latency is what other mail users
// feel. Reports achieved boxes/s, duration and probe p50/p99 per rate.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dist, ensureBuilt, envInt, helper, nowMs, printTable, stats, writeResult } from './lib/env.mjs';

const BOXES = envInt('BENCH_BOXES', 2000);
const RATES = (process.env.BENCH_RATES ?? '100,max').split(',');

ensureBuilt();
const { startDovecot } = await helper('dovecot.ts');
const { waitFor } = await helper('net.ts');
const { createMwi } = await dist('mwi/index.js');
const { createLogger } = await dist('log.js');

const users = Array.from({ length: BOXES }, (_, i) => `u${i}@example.org`);
const dovecot = await startDovecot({ users: [...users, 'probe@example.org'] });
const dir = mkdtempSync(path.join(os.tmpdir(), 'vmb-bench-resync-'));
const conf = path.join(dir, 'voicemail.conf');
writeFileSync(conf, '[default]\n' + users.map((u, i) => `${2000 + i} => 1234,U${i},,,imapuser=${u}`).join('\n') + '\n');
const rows = [];
try {
    for (const rate of RATES) {
        const events = [];
        const mwi = createMwi(
            {
                imap: dovecot.imapUrl,
                voicemailConf: conf,
                mwiDebounce: 75,
                mwiResync: 0,
                mwiResyncRate: rate === 'max' ? 1e9 : Number(rate),
                mwiConverge: 0,
                mwiCorrections: 3,
                amiMode: 'refresh',
                imapMasterSeparator: '*'
            },
            { out: { emit: e => void events.push(e) }, logger: createLogger('warn') }
        );
        const probe = await dovecot.imap('probe@example.org');
        const lat = [];
        let probing = true;
        const loop = (async () => {
            while (probing) {
                const t = nowMs();
                await probe.noop();
                await probe.status('INBOX', { messages: true });
                lat.push(nowMs() - t);
            }
        })();
        const t0 = nowMs();
        mwi.start();
        await waitFor(() => events.length >= BOXES && !mwi.busy(), 3_600_000, 'resync done');
        const secs = (nowMs() - t0) / 1000;
        probing = false;
        await loop;
        await probe.logout();
        await mwi.stop();
        const p = stats(lat);
        rows.push({
            rate,
            boxes: BOXES,
            seconds: Math.round(secs * 10) / 10,
            'boxes/s': Math.round(BOXES / secs),
            'probe p50 ms': p.p50,
            'probe p99 ms': p.p99,
            'probe max ms': p.max
        });
    }
} finally {
    await dovecot.destroy();
    rmSync(dir, { recursive: true, force: true });
}
printTable(`MWI full resync of ${BOXES} boxes (one Dovecot user each)`, rows);
writeResult('mwi-resync', { boxes: BOXES, rows });
