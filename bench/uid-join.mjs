// uid-join rate: the share of delivery newmail events that carry Dovecot's uid from the hook's
// MessageNew (joined within --hook-join-window), at paced delivery rates into a real Dovecot with
// the hook from `vmbridge dovecot-config`. No --imap, so nothing else could supply the uid: what
// is measured is the hook and the join alone (BENCH_IMAP=1 adds the IMAP lookup fallback for a
// MessageNew that came late or without uid). Also counts newmail per stored copy (must be 1).
// Run: node bench/uid-join.mjs   (env: BENCH_RATES=10,100,500 BENCH_SECONDS=5 BENCH_CONNS=16 BENCH_IMAP=0)
import { dist, ensureBuilt, envInt, helper, printTable, writeResult } from './lib/env.mjs';
import { dataPayload, openConnections } from './lib/mta.mjs';
import { smallMessage } from './lib/messages.mjs';

const RATES = (process.env.BENCH_RATES ?? '10,100,500').split(',').map(Number);
const SECONDS = envInt('BENCH_SECONDS', 5);
const CONNS = envInt('BENCH_CONNS', 16);
const USERS = Array.from({ length: 20 }, (_, i) => `j${i}@example.org`);
const TOKEN = 'bench-uid-join-token-0123456789abcdef';
const IMAP = process.env.BENCH_IMAP === '1';

ensureBuilt();
const { startDovecot } = await helper('dovecot.ts');
const { freePort, freeListeners, waitFor } = await helper('net.ts');
const { hookFragment } = await helper('hook-fragment.ts');
const { Bridge } = await dist('bridge.js');
const { loadConfig } = await dist('config.js');
const { createLogger } = await dist('log.js');
const { hookGaps } = await dist('metrics.js');

const rows = [];
for (const rate of RATES) {
    const ingest = `127.0.0.1:${await freePort()}`;
    const frag = hookFragment(['--ingest', ingest, '--ingest-token', TOKEN]);
    const dovecot = await startDovecot({ users: USERS, extraConfig: frag.fragment });
    const config = loadConfig(
        { ...(await freeListeners()), deliver: dovecot.lmtpUrl, ingest, ingestToken: TOKEN, hook: 'yes', imap: IMAP ? dovecot.imapUrl : undefined, logLevel: 'warn' },
        {}
    );
    const bridge = new Bridge(config, createLogger('warn'));
    await bridge.start();
    const newmail = [];
    bridge.events.add({ emit: ev => ev.type === 'newmail' && newmail.push(ev) });
    const gaps0 = (await hookGaps.get()).values.find(v => v.labels.kind === 'delivery')?.value ?? 0;
    const conns = await openConnections(config.lmtp.port, CONNS);
    const free = [...conns];
    const count = rate * SECONDS;
    let ok = 0;
    const t0 = Date.now();
    const inflight = [];
    for (let i = 0; i < count; i++) {
        const due = t0 + (i * 1000) / rate;
        while (Date.now() < due || !free.length) await new Promise(r => setTimeout(r, Math.max(1, due - Date.now())));
        const c = free.pop();
        const to = USERS[i % USERS.length];
        inflight.push(
            c.send('pbx@example.net', [to], dataPayload(smallMessage(`${rate}-${i}`, to))).then(r => {
                ok += r.codes.filter(x => x === 250).length;
                free.push(c);
            })
        );
    }
    await Promise.all(inflight);
    const offered = count / ((Date.now() - t0) / 1000);
    await waitFor(() => newmail.length >= ok, 30_000, 'newmail events');
    for (const c of conns) c.close();
    await bridge.stop(); // emits anything still waiting; counting after it sees everything
    const stored = (await Promise.all(USERS.map(u => dovecot.messages(u)))).reduce((n, m) => n + m.length, 0);
    const withUid = newmail.filter(e => e.uid !== undefined).length;
    const gaps = ((await hookGaps.get()).values.find(v => v.labels.kind === 'delivery')?.value ?? 0) - gaps0;
    rows.push({
        'offered msg/s': Math.round(offered),
        deliveries: ok,
        stored,
        newmail: newmail.length,
        'with uid': withUid,
        'uid-join rate': `${((100 * withUid) / Math.max(1, newmail.length)).toFixed(1)} %`,
        'MessageNew missed': gaps
    });
    await dovecot.destroy();
    frag.cleanup();
}
printTable(`uid-join rate (newmail with uid / newmail), hook over tcp, ${IMAP ? 'with' : 'no'} --imap fallback`, rows);
writeResult(IMAP ? 'uid-join-imap' : 'uid-join', { rows });
