// docs/deploy.md followed literally, as far as it runs without systemd: every ```sh deploy-test
// block of the guide runs, in order, in /bin/sh against a throwaway Postfix and Dovecot, and the
// chain then works (Postfix → vmbridge → Dovecot, doctor all ok). The blocks are read from the
// guide itself, so the text and the test cannot drift. What the test changes, and why:
// - /etc/postfix, /etc/dovecot, /etc/vmbridge, /etc/default/vmbridge, /opt/vmbridge → the test's
//   directories and the checkout; postconf/postmap/postfix get `-c <instance config>`;
// - the transport map's 127.0.0.1:2424 → a free port (parallel tests never share one);
// - `systemctl reload dovecot` → `doveadm reload` of the instance; other systemctl lines are
//   dropped (the test starts serve itself, with the guide's JSON and environment file);
// - the instance's dovecot.conf gets Debian's `!include conf.d/*.conf` line.
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { freePort } from '../helpers/net.js';
import { startPostfix, substitute, type TestPostfix } from '../helpers/postfix.js';
import { startServe, type Serve } from './cli.js';

const ROOT = path.resolve(__dirname, '../..');
const GUIDE = readFileSync(path.join(ROOT, 'docs/deploy.md'), 'utf8');
const USER = 'alice@example.org';
const run = promisify(execFile);

/** The guide's ```sh deploy-test blocks, in order (indented ones in lists too). */
export function deployTestBlocks(markdown: string): string[] {
    const blocks: string[] = [];
    const re = /^( *)```sh deploy-test\n([^]*?)^\1```$/gm;
    for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
        blocks.push(
            m[2]
                .split('\n')
                .map(l => l.slice(m![1].length))
                .join('\n')
        );
    }
    return blocks;
}

describe('docs/deploy.md followed literally', () => {
    let dovecot: TestDovecot;
    let postfix: TestPostfix;
    let mc: TestMemcached;
    let serve: Serve;
    let dir: string;
    let bridgePort: number;
    let script: string;

    beforeAll(async () => {
        dir = mkdtempSync(path.join(tmpdir(), 'vmb-guide-'));
        for (const d of ['etc-vmbridge', 'state']) mkdirSync(path.join(dir, d));
        bridgePort = await freePort();
        [dovecot, mc] = await Promise.all([startDovecot(), startMemcached()]);
        postfix = await startPostfix({ mainCf: 'relay_domains = other.example' }); // an existing value to merge with
        mkdirSync(path.join(dovecot.dir, 'conf.d'));
        appendFileSync(dovecot.conf, `\n!include_try ${dovecot.dir}/conf.d/*.conf\n`); // Debian's dovecot.conf has it
        const transport = path.join(dir, 'transport');
        writeFileSync(
            transport,
            substitute(readFileSync(path.join(ROOT, 'examples/postfix/transport'), 'utf8'), [['lmtp:inet:127.0.0.1:2424', `lmtp:inet:127.0.0.1:${bridgePort}`]])
        );
        // The guide's JSON, pointed at this instance.
        const json = JSON.parse(readFileSync(path.join(ROOT, 'examples/systemd/vmbridge.json'), 'utf8')) as Record<string, unknown>;
        const vmConf = path.join(dir, 'voicemail.conf');
        writeFileSync(vmConf, `[default]\n100 => 1234,Alice,,,imapuser=${USER}|imapfolder=INBOX\n`);
        Object.assign(json, {
            lmtp: `127.0.0.1:${bridgePort}`,
            deliver: `lmtp:${dovecot.lmtpSocket}`,
            stateDir: path.join(dir, 'state'),
            ingest: `127.0.0.1:${await freePort()}`,
            ingestTokenFile: path.join(dir, 'state', 'ingest.token'),
            resolver: mc.resolver,
            voicemailConf: vmConf,
            admin: `127.0.0.1:${await freePort()}`,
            replay: `127.0.0.1:${await freePort()}`,
            publish: `tcp://127.0.0.1:${await freePort()}`,
            dovecotKeyFile: path.join(dir, 'state', 'dovecot-ingest-key.conf')
        });
        writeFileSync(path.join(dir, 'etc-vmbridge', 'vmbridge.json'), JSON.stringify(json, null, 2));
        // The guide's environment file, with the master password its doveadm pw block sets.
        const env = substitute(readFileSync(path.join(ROOT, 'examples/systemd/vmbridge.env'), 'utf8'), [
            ['127.0.0.1:143', `127.0.0.1:${dovecot.imapPort}`],
            ['VMBRIDGE_AMI=', '#VMBRIDGE_AMI=']
        ]);
        writeFileSync(path.join(dir, 'vmbridge.env'), env);
        serve = await startServe(
            ['--config', path.join(dir, 'etc-vmbridge', 'vmbridge.json')],
            Object.fromEntries(
                env
                    .split('\n')
                    .filter(l => /^VMBRIDGE_\w+=/.test(l))
                    .map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
            )
        );
        const text = deployTestBlocks(GUIDE)
            .join('\n')
            .split('\n')
            .filter(l => !/^\s*(systemctl|journalctl) /.test(l) || /systemctl reload dovecot/.test(l))
            .join('\n')
            .replace(/systemctl reload dovecot/g, `doveadm -c ${dovecot.conf} reload`)
            .replace(/(^|[\s;&|(])(postconf|postmap|postfix) /gm, `$1$2 -c ${postfix.conf} `);
        script = substitute(text, [
            ['/opt/vmbridge/examples/postfix/transport', transport],
            ['/usr/bin/node', process.execPath]
        ])
            .split('/etc/postfix')
            .join(postfix.conf)
            .split('/etc/dovecot')
            .join(dovecot.dir)
            .split('/etc/vmbridge')
            .join(path.join(dir, 'etc-vmbridge'))
            .split('/etc/default/vmbridge')
            .join(path.join(dir, 'vmbridge.env'))
            .split('/opt/vmbridge')
            .join(ROOT);
    }, 60_000);

    afterAll(async () => {
        await serve?.stop();
        await Promise.all([postfix?.destroy(), dovecot?.destroy(), mc?.stop()]);
        rmSync(dir, { recursive: true, force: true });
    });

    it('has deploy-test blocks for Postfix, the hook, the master user and doctor', () => {
        const all = deployTestBlocks(GUIDE).join('\n');
        for (const cmd of ['postconf -e', 'dovecot-config', 'doveadm pw', 'doctor']) expect(all).toContain(cmd);
        expect(all).not.toMatch(/<[a-z ]+>/); // no placeholders
    });

    it('runs, merges Postfix settings, and the chain then delivers and passes doctor', async () => {
        const r = await run('/bin/sh', ['-ec', script], { cwd: ROOT }).catch(err => err as { code: number; stdout: string; stderr: string });
        const out = `${r.stdout}\n${r.stderr}`;
        expect('code' in r ? r.code : 0, `${script}\n---\n${out}`).toBe(0);
        expect(out).not.toMatch(/^fail /m);
        expect(out).toMatch(/^ok +hook-key:/m);
        expect(out).toMatch(/^ok +imap-master:/m);
        const { stdout: merged } = await run('postconf', ['-c', postfix.conf, '-nh', 'relay_domains', 'transport_maps']);
        expect(merged.trim().split('\n')).toEqual(['other.example, example.org', `hash:${postfix.conf}/transport`]);
        const sent = await send(postfix.smtpPort, 'asterisk@pbx.example.org', [USER], Buffer.from('Subject: guide\r\n\r\nfollowed literally\r\n'), { lmtp: false });
        expect(sent.final.map(x => x.code)).toEqual([250]);
        await postfix.waitForDelivery(USER, 'sent');
        // the helper's IMAP session uses its own master password, which the guide's doveadm pw replaced
        const { stdout: found } = await run('doveadm', ['-c', dovecot.conf, 'search', '-u', USER, 'mailbox', 'INBOX', 'body', 'followed literally']);
        expect(found.trim()).not.toBe('');
    });
});
