// LMTP deliverer throughput against a throwaway Dovecot: pooled vs a fresh connection per
// message, sequential and 8 in flight, with a bare one-connection LMTP client as the baseline.
// Run: npx tsx bench/deliver-lmtp.mjs [messages=500]
import { Readable } from 'node:stream';
import { LmtpDeliverer } from '../src/deliver/lmtp.ts';
import { parseLmtpTarget } from '../src/deliver/target.ts';
import { startDovecot } from '../test/helpers/dovecot.ts';
import { LineClient, transaction } from '../test/helpers/lmtp-client.ts';

const N = Number(process.argv[2] ?? 500);
const MSG = Buffer.from('From: a@example.org\r\nTo: bob@example.org\r\nSubject: bench\r\n\r\nhello\r\n');

// a mailbox per run: a mailbox filling up slows Dovecot down, which would favour the first run
const USERS = Array.from({ length: 5 }, (_, i) => `u${i}@example.org`);
let user = '';

async function one(d) {
    const txn = await d.begin({ from: 'a@example.org', sessionId: 'bench' });
    await txn.addRecipient({ address: user, user });
    const [o] = await txn.data(Readable.from([MSG]));
    if (!o.ok) throw o.error;
}

async function run(label, parallel, send) {
    user = USERS.shift();
    let next = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(
        Array.from({ length: parallel }, async () => {
            while (next++ < N) await send();
        })
    );
    const rate = N / (Number(process.hrtime.bigint() - t0) / 1e9);
    console.log(`${label.padEnd(40)} ${rate.toFixed(0)} msg/s`);
    return rate;
}

const dovecot = await startDovecot({ users: [...USERS] });
try {
    const raw = await LineClient.connect(dovecot.lmtpPort);
    await raw.reply();
    await raw.command('LHLO bench');
    const base = await run('bare LMTP client, 1 connection', 1, () => transaction(raw, 'a@example.org', [user], MSG));
    raw.close();
    for (const parallel of [1, 8]) {
        const pooled = new LmtpDeliverer({ address: parseLmtpTarget(dovecot.lmtpUrl), text: dovecot.lmtpUrl }, { poolSize: parallel });
        const fresh = new LmtpDeliverer({ address: parseLmtpTarget(dovecot.lmtpUrl), text: dovecot.lmtpUrl }, { poolSize: parallel, idleMs: 0 });
        const p = await run(`deliverer pooled, ${parallel} in flight`, parallel, () => one(pooled));
        const f = await run(`deliverer fresh connection, ${parallel} in flight`, parallel, () => one(fresh));
        console.log(`  pooled/fresh ${(p / f).toFixed(2)}x, pooled/bare ${(p / base).toFixed(2)}x (pool opened ${pooled.pool.opened})`);
        await pooled.close();
        await fresh.close();
    }
} finally {
    await dovecot.destroy();
}
