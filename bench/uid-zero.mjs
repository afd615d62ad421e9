// How often Dovecot reports a delivered message without its uid: maildir assigns uids at commit
// only if it gets the uid list's lock at once (a single-recipient LMTP or LDA delivery does not
// ask to wait: MAILBOX_TRANSACTION_FLAG_ASSIGN_UIDS unset, so TRYLOCK), else the hook's MessageNew
// says uid 0 and vmbridge with --imap SEARCHes for it by Message-ID. Small messages over CONNS LMTP
// connections straight to a Dovecot 2.3 with the native driver, to USERS mailboxes in turn; the
// driver's lines are read by a plain socket here (no serve).
// Run: node bench/uid-zero.mjs   (env: CONNS=8 USERS=4 N=2000)
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, ensureBuilt, envInt, helper } from './lib/env.mjs';
import { dataPayload, openConnections, sendAll } from './lib/mta.mjs';

const CONNS = envInt('CONNS', 8);
const USERS = envInt('USERS', 4);
const N = envInt('N', 2000);

ensureBuilt();
const { dovecotOf } = await helper('dovecot24.ts');
const { driverArgs } = await helper('native-driver.ts');
const { waitFor } = await helper('net.ts');
const dir = mkdtempSync(path.join(os.tmpdir(), 'vmb-uid-zero-'));
chmodSync(dir, 0o755); // the mail uid must reach the socket
const sock = path.join(dir, 'ingest.sock');
let zero = 0;
let total = 0;
const server = net.createServer(s => {
    let buf = '';
    s.on('data', d => {
        buf += d.toString('latin1');
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            for (const m of buf.slice(0, nl).matchAll(/"name":"MessageNew","mailbox":"[^"]*","uid":(\d+)/g)) {
                total++;
                if (m[1] === '0') zero++;
            }
            buf = buf.slice(nl + 1);
        }
    });
    s.on('error', () => undefined);
});
await new Promise(resolve => server.listen(sock, resolve));
chmodSync(sock, 0o666);
const fragment = execFileSync(
    process.execPath,
    [path.join(ROOT, 'bin/vmbridge.js'), 'dovecot-config', '--ingest', `unix:${sock}`, '--ingest-token', 'uid-zero-token-0123456789abcdef', ...driverArgs('native')],
    {
        encoding: 'utf8'
    }
);
const users = Array.from({ length: USERS }, (_, i) => `z${i}@example.org`);
const dovecot = await dovecotOf('2.3', { users, extraConfig: fragment }).start();
try {
    const conns = await openConnections(dovecot.lmtpPort, CONNS);
    const payload = dataPayload(Buffer.from('From: a@example.net\r\nSubject: uid zero\r\nMessage-ID: <uid-zero@example.net>\r\n\r\nhello\r\n'));
    const res = await sendAll(conns, N, i => ({ rcpts: [users[i % users.length]], payload }));
    for (const c of conns) c.close();
    await waitFor(() => total >= res.ok, 10_000, 'every MessageNew');
    console.log(
        `${CONNS} connections, ${USERS} mailboxes: ${res.ok} delivered at ${Math.round(res.rate)} msg/s; MessageNew without uid: ${zero} of ${total} (${((100 * zero) / total).toFixed(1)} %)`
    );
} finally {
    await dovecot.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
}
