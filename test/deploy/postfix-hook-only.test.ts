// Postfix delivering into Dovecot WITHOUT vmbridge in the delivery path, proven end to end for
// both examples: examples/postfix/lda (dovecot-lda pipe, as the mail user vmail) and
// examples/postfix/dovecot-lmtp (straight to Dovecot's LMTP: the most throughput). vmbridge
// learns of the new message through the Dovecot hook, installed as docs/deploy.md says: the
// output of `vmbridge dovecot-config` (same flags as serve) appended to dovecot.conf; with
// --imap it classifies the copy over IMAP. The event reaches a `vmbridge listen` child process.
//
// What the test changes in the examples, and why (substitute() fails if the text moved):
// - lda/master.cf: dovecot-lda gets `-c <test dovecot.conf>`: the throwaway Dovecot's
//   configuration is not /etc/dovecot/dovecot.conf;
// - dovecot-lmtp/transport: Dovecot's unix socket → the test Dovecot's LMTP port;
// - /etc/postfix/ → the instance's own config directory (test/helpers/postfix.ts).
// For dovecot-lda the test Dovecot gets what any Dovecot needs when dovecot-lda runs as vmail
// (docs/deploy.md): a log vmail may write (the helper's log file belongs to root; Debian logs to
// syslog) and the stats-writer socket open to vmail, and the hook's key file readable by vmail's
// group (dovecot-lda run as vmail reads the configuration itself; docs/deploy.md).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_UID, startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort, waitFor } from '../helpers/net.js';
import { postfixExample, startPostfix, substitute, type TestPostfix } from '../helpers/postfix.js';
import { PLAIN, storedAsSent, VOICEMAIL, VOICEMAIL_NEWMAIL } from './voicemail.js';
import { dovecotConfig, sideListeners, startListen, startServe, type Listener, type Serve } from './cli.js';

const LDA = '/usr/lib/dovecot/dovecot-lda';
const PROBE_USER = 'carol@example.org';
const LDA_AS_VMAIL = `
protocol lda {
  log_path = /dev/stderr
}
service stats {
  unix_listener stats-writer {
    user = vmail
  }
}
`;

/**
 * The pipe runs dovecot-lda as `vmail`, Dovecot's mail uid (the test Dovecot's is MAIL_UID): the
 * account an administrator creates for virtual mailboxes. Created when missing, as docs/deploy.md
 * tells an administrator to.
 */
function ensureVmailUser(): void {
    let uid: number | undefined;
    try {
        uid = Number(execFileSync('id', ['-u', 'vmail'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    } catch {
        execFileSync('groupadd', ['--gid', String(MAIL_UID), 'vmail']);
        execFileSync('useradd', ['--uid', String(MAIL_UID), '--gid', 'vmail', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', 'vmail']);
        return;
    }
    if (uid !== MAIL_UID) throw new Error(`user vmail has uid ${uid}; the test Dovecot's mail uid is ${MAIL_UID}`);
}

interface Variant {
    name: string;
    /** Dovecot configuration the variant needs besides the hook. */
    dovecotConfig: string;
    /** Before Dovecot starts, with the hook's key file. */
    prepare(keyFile: string): void;
    postfix(dovecot: TestDovecot): Parameters<typeof startPostfix>[0];
    /** Postfix's log line of a copy stored, and of an unknown user bounced. */
    sent: RegExp;
    bounced: RegExp;
}

const VARIANTS: Variant[] = [
    {
        name: 'virtual_transport = dovecot (dovecot-lda pipe)',
        dovecotConfig: LDA_AS_VMAIL,
        prepare(keyFile) {
            ensureVmailUser();
            chmodSync(path.dirname(keyFile), 0o755);
            chownSync(keyFile, 0, MAIL_UID); // group vmail (MAIL_UID)
        },
        postfix: dovecot => ({
            mainCf: postfixExample('lda/main.cf'),
            masterCf: substitute(postfixExample('lda/master.cf'), [[`argv=${LDA} `, `argv=${LDA} -c ${dovecot.conf} `]])
        }),
        sent: /relay=dovecot, .*status=sent \(delivered via dovecot service/,
        // dovecot-lda -e exits 67: Postfix bounces instead of dovecot-lda mailing
        bounced: /relay=dovecot, .*dsn=5\.1\.1, status=bounced/
    },
    {
        name: 'transport map → Dovecot LMTP',
        dovecotConfig: '',
        prepare: () => undefined,
        postfix: dovecot => ({
            mainCf: postfixExample('dovecot-lmtp/main.cf'),
            maps: { transport: substitute(postfixExample('dovecot-lmtp/transport'), [['lmtp:unix:private/dovecot-lmtp', `lmtp:inet:127.0.0.1:${dovecot.lmtpPort}`]]) }
        }),
        sent: /relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+.*status=sent \(250 /,
        bounced: /\b550[ -]5\.1\.1\b.*status=bounced|status=bounced.*\b550[ -]5\.1\.1\b/
    }
];

describe.each(VARIANTS)('Postfix $name → Dovecot, vmbridge beside it: events through the hook', variant => {
    let dovecot: TestDovecot;
    let postfix: TestPostfix;
    let serve: Serve;
    let listener: Listener;
    let maildir: string;

    /** IMAP APPENDs for a probe user until the listener shows one: hook, ingest and SUB are live. */
    async function listenerReady(): Promise<void> {
        const client = await dovecot.imap(PROBE_USER);
        try {
            await waitFor(
                async () => {
                    await client.append('INBOX', PLAIN);
                    return waitFor(() => listener.events.some(e => e.user === PROBE_USER), 300).catch(() => false);
                },
                15_000,
                `listen subscription\n${dovecot.log}\n${serve.output()}`
            );
        } finally {
            await client.logout().catch(() => undefined);
        }
    }

    beforeAll(async () => {
        // serve's flags; dovecot-config takes the same ones and fills the hook in for them.
        maildir = mkdtempSync(path.join(tmpdir(), 'vmb-unused-'));
        const flags = [
            '--lmtp',
            `127.0.0.1:${await freePort()}`,
            '--deliver',
            `maildir:${maildir}`, // not in the delivery path here
            '--dovecot-key-file',
            path.join(maildir, 'dovecot-ingest-key.conf'),
            ...(await sideListeners())
        ];
        const fragment = await dovecotConfig(flags);
        variant.prepare(path.join(maildir, 'dovecot-ingest-key.conf'));
        dovecot = await startDovecot({ extraConfig: variant.dovecotConfig + fragment });
        // --imap (the master user: classification over IMAP) from the environment, as deployed:
        // a credential never goes on a command line
        serve = await startServe(flags, { VMBRIDGE_IMAP: dovecot.imapUrl });
        postfix = await startPostfix(variant.postfix(dovecot));
        listener = startListen(['--connect', flags[flags.indexOf('--publish') + 1]]);
        await listenerReady();
    });

    afterAll(async () => {
        await listener?.stop();
        await serve?.stop();
        await postfix?.destroy();
        await dovecot?.destroy();
        rmSync(maildir, { recursive: true, force: true });
    });

    it('stores the voicemail byte for byte and the hook announces it at listen', async () => {
        const r = await send(postfix.smtpPort, 'asterisk@pbx.example.org', ['alice@example.org'], VOICEMAIL, { lmtp: false });
        expect(r.rcpt.map(x => x.code)).toEqual([250]);
        expect(r.final.map(x => x.code)).toEqual([250]);
        const [sent] = await postfix.waitForDelivery('alice@example.org', 'sent');
        expect(sent).toMatch(variant.sent);
        const msgs = await dovecot.messages('alice@example.org');
        expect(msgs).toHaveLength(1);
        expect(storedAsSent(msgs[0].source, VOICEMAIL)).toBe(true);
        expect(msgs[0].source.toString('latin1')).toMatch(/^Return-Path: <asterisk@pbx\.example\.org>\r\n/);
        expect(msgs[0].source.toString('latin1')).toMatch(/^Delivered-To: alice@example\.org\r\n/m);

        // with --imap the voicemail's mwi counts follow its newmail: by then a second newmail
        // for the copy would have shown too
        await waitFor(() => listener.events.some(x => x.user === 'alice@example.org' && x.type === 'mwi'), 10_000, `mwi for alice\n${serve.output()}`);
        const evs = listener.events.filter(x => x.user === 'alice@example.org' && x.type === 'newmail');
        expect(evs).toHaveLength(1);
        expect(evs[0]).toMatchObject({ ...VOICEMAIL_NEWMAIL, uid: msgs[0].uid });
        expect(listener.invalid).toEqual([]);
    });

    it('bounces an unknown user with 5.1.1', async () => {
        const r = await send(postfix.smtpPort, '', ['nobody@example.org'], PLAIN, { lmtp: false });
        expect(r.final.map(x => x.code)).toEqual([250]);
        const [line] = await postfix.waitForDelivery('nobody@example.org', 'bounced');
        expect(line).toMatch(variant.bounced);
    });
});
