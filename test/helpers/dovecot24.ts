// Dovecot 2.4.1 for the tests, beside the machine's 2.3: the trixie root of
// test/setup/trixie-root.mjs (built once, cached), Dovecot run in it under chroot with the same
// shape as TestDovecot (LMTP and IMAP on free loopback ports — loopback is shared with the root —,
// passwd-file users, a master user) in 2.4 syntax. Paths in its config are inside the root.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MAIL_UID, MASTER, PASSWORD, TestDovecot, type DovecotOptions } from './dovecot.js';
import { hookFragment, type HookFragment } from './hook-fragment.js';
import { freePort, waitForPort } from './net.js';
import { startProcess } from './process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export type DovecotVersion = '2.3' | '2.4';
export const DOVECOT_VERSIONS: DovecotVersion[] = ['2.3', '2.4'];
/** beforeAll timeout for a suite that may build the trixie root first (download + ~20 s). */
export const ROOT_BUILD_TIMEOUT = 600_000;

let rootPath: Promise<string> | undefined;
/** The trixie root's path, built (under a lock, never half-used) when missing. */
export function trixieRoot(): Promise<string> {
    rootPath ??= promisify(execFile)(process.execPath, [path.join(ROOT, 'test/setup/trixie-root.mjs')], { encoding: 'utf8', timeout: ROOT_BUILD_TIMEOUT }).then(r =>
        r.stdout.trim()
    );
    return rootPath;
}

export class TestDovecot24 extends TestDovecot {
    root = '';

    /** A path of this instance as Dovecot in the root sees it. */
    inside(hostPath: string): string {
        return hostPath.slice(this.root.length);
    }

    override async start(): Promise<this> {
        if (!this.dir) await this.prepare();
        // chroot execs dovecot: the child is the master, and stop() ends exactly it (and its children).
        this.proc = startProcess('chroot', [this.root, '/usr/sbin/dovecot', '-F', '-c', this.inside(this.conf)]);
        const child = this.proc.child;
        const exited = new Promise<never>((_, reject) => child.once('exit', code => reject(new Error(`the master exited (${code})`))));
        exited.catch(() => undefined); // also when it is stopped later on purpose
        try {
            await Promise.race([
                exited,
                (async () => {
                    await waitForPort(this.lmtpPort, { greeting: /^220 /m });
                    await waitForPort(this.imapPort, { greeting: /^\* OK/m });
                })()
            ]);
        } catch (err) {
            // The caller never gets this instance to destroy: stop the master here.
            const out = this.proc.output();
            await this.stop();
            throw new Error(`Dovecot 2.4 did not start: ${(err as Error).message}\n${out}\n${this.log}`);
        }
        return this;
    }

    override ldaCommand(user: string): string[] {
        return ['chroot', this.root, '/usr/lib/dovecot/dovecot-lda', '-c', this.inside(this.conf), '-d', user];
    }

    protected override async prepare(): Promise<void> {
        this.root = await trixieRoot();
        mkdirSync(path.join(this.root, 'srv'), { recursive: true });
        // parentDir: a directory inside the root
        this.dir = mkdtempSync(path.join(this.opts.parentDir ?? path.join(this.root, 'srv'), 'vmb-dovecot-'));
        chmodSync(this.dir, 0o755);
        for (const d of ['run', 'state', 'mail']) mkdirSync(path.join(this.dir, d), { mode: 0o755 });
        chownSync(path.join(this.dir, 'mail'), MAIL_UID, MAIL_UID);
        this.lmtpPort = await freePort();
        this.imapPort = await freePort();
        this.lmtpSocket = path.join(this.dir, 'run', 'lmtp');
        const d = this.inside(this.dir);
        writeFileSync(path.join(this.dir, 'passwd'), this.users.map(u => `${u}:{PLAIN}${PASSWORD}:${MAIL_UID}:${MAIL_UID}::${d}/mail/${u}::\n`).join(''));
        writeFileSync(path.join(this.dir, 'master-users'), `${MASTER.user}:{PLAIN}${MASTER.password}\n`);
        this.conf = path.join(this.dir, 'dovecot.conf');
        writeFileSync(
            this.conf,
            `dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
protocols = imap lmtp
listen = 127.0.0.1
base_dir = ${d}/run
state_dir = ${d}/state
log_path = ${d}/dovecot.log
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain login
auth_master_user_separator = *
mail_driver = maildir
mail_path = ${d}/mail/%{user}
mail_uid = ${MAIL_UID}
mail_gid = ${MAIL_UID}
first_valid_uid = 1000
lda_mailbox_autocreate = yes
namespace inbox {
  inbox = yes
  separator = .
  mailbox Trash {
    special_use = \\Trash
    auto = create
  }
  mailbox Old {
    auto = create
  }
}
passdb masters {
  driver = passwd-file
  master = yes
  passwd_file_path = ${d}/master-users
}
passdb users {
  driver = passwd-file
  passwd_file_path = ${d}/passwd
}
userdb users {
  driver = passwd-file
  passwd_file_path = ${d}/passwd
}
service imap-login {
  inet_listener imap {
    listen = 127.0.0.1
    port = ${this.imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    listen = 127.0.0.1
    port = ${this.lmtpPort}
  }
  unix_listener lmtp {
    mode = 0666
  }
}
service imap {
  process_limit = 64
}
${this.opts.extraConfig ?? ''}
`
        );
    }
}

/** A Dovecot of `version` (not started: call start()). */
export function dovecotOf(version: DovecotVersion, opts?: DovecotOptions): TestDovecot {
    return version === '2.4' ? new TestDovecot24(opts) : new TestDovecot(opts);
}

/**
 * `vmbridge dovecot-config` for `version`. For 2.4 the script and the key file live in a temp dir
 * inside the trixie root and the fragment names them by their paths there.
 */
export async function hookFragmentFor(version: DovecotVersion, args: string[]): Promise<HookFragment> {
    if (version === '2.3') return hookFragment(['--dovecot-version', '2.3', ...args]);
    const root = await trixieRoot();
    mkdirSync(path.join(root, 'srv'), { recursive: true });
    const dir = mkdtempSync(path.join(root, 'srv', 'vmb-hook-'));
    chmodSync(dir, 0o755);
    const script = path.join(dir, 'vmbridge.lua');
    copyFileSync(path.join(ROOT, 'dovecot/vmbridge.lua'), script);
    chmodSync(script, 0o644);
    const keyFile = path.join(dir, 'dovecot-ingest-key.conf');
    // The later --dovecot-key-file wins over hookFragment's own (left empty, removed too).
    const frag = hookFragment(['--dovecot-version', '2.4', '--script', script, '--dovecot-key-file', keyFile, ...args]);
    return {
        fragment: frag.fragment.replaceAll(root, ''),
        keyFile,
        cleanup: () => {
            frag.cleanup();
            rmSync(dir, { recursive: true, force: true });
        }
    };
}
