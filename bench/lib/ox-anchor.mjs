// The anchor of bench/dovecot-cost: Dovecot's own OX push driver (push-notification-driver-ox.c,
// shipped in dovecot-core) pointed at a tiny HTTP receiver in a child process of its own (so the
// bench's LMTP client does not slow its replies). The OX driver acts only for users whose INBOX
// holds the private server METADATA key /private/vendor/vendor.dovecot/http-notify ("user=<name>"),
// stored through mail_attribute_dict; for each new INBOX message it syncs the mailbox for the
// unseen count, reads From/Subject and a body snippet, and PUTs JSON, waiting for the reply before
// the mail user is freed (http_client_wait in its deinit).
import { execFileSync } from 'node:child_process';
import { helper } from './env.mjs';

const RECEIVER = `
const http = require('node:http');
let puts = 0;
const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
        if (req.method === 'PUT') puts++;
        res.writeHead(200, { 'content-type': 'text/plain' }).end(req.method === 'GET' ? String(puts) : '');
    });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[1]), '127.0.0.1');
`;

export async function oxAnchor() {
    const { freePort, waitForPort } = await helper('net.ts');
    const { startProcess } = await helper('process.ts');
    const port = await freePort();
    const receiver = startProcess(process.execPath, ['-e', RECEIVER, String(port)]);
    await waitForPort(port);
    const plugins = 'mail_plugins = $mail_plugins notify push_notification';
    const fragment = [
        'mail_attribute_dict = file:%h/dovecot-attributes',
        ...['lda', 'lmtp', 'imap'].map(p => `protocol ${p} {\n  ${plugins}\n}`),
        `plugin {\n  push_notification_driver = ox:url=http://127.0.0.1:${port}/preliminary/http-notify/v1/notify\n}`,
        ''
    ].join('\n');
    return {
        fragment,
        /** The METADATA key that switches the OX driver on for each user (doveadm, as an admin would). */
        enable(dovecot, users) {
            for (const u of users)
                execFileSync('doveadm', ['-c', dovecot.conf, 'mailbox', 'metadata', 'set', '-u', u, '-s', '', '/private/vendor/vendor.dovecot/http-notify', `user=${u}`], {
                    stdio: ['ignore', 'ignore', 'inherit']
                });
        },
        async count() {
            return Number(await (await fetch(`http://127.0.0.1:${port}/`)).text());
        },
        stop: () => receiver.stop()
    };
}
