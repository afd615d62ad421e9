// A real, throwaway Dovecot: own config in a temp dir, LMTP and IMAP on free loopback ports,
// passwd-file users and a master user. stop() ends exactly the dovecot master it started.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { freePort, waitForPort } from './net.js';
import { startProcess, type Started } from './process.js';

export const MAIL_UID = 5000;
export const PASSWORD = 'secret';
export const MASTER = { user: 'vmmaster', password: 'masterpw' };
export const DEFAULT_USERS = ['alice@example.org', 'bob@example.org', 'carol@example.org'];

export interface DovecotOptions {
    users?: string[];
    /** Appended to dovecot.conf (e.g. the vmbridge conf.d snippet). */
    extraConfig?: string;
    /** The inbox namespace's hierarchy separator (default '.'; the Maildir++ list's stays '.'). */
    namespaceSeparator?: string;
    /** Appended to mail_location, e.g. ':LAYOUT=fs' (the mailbox list's separator becomes '/'). */
    mailLocationOptions?: string;
    /** Where the instance's temp directory (config, sockets, mail) is made (default os.tmpdir(); 2.4: inside its root). */
    parentDir?: string;
}

export class TestDovecot {
    dir = '';
    conf = '';
    lmtpPort = 0;
    imapPort = 0;
    lmtpSocket = '';
    protected proc?: Started;

    constructor(protected readonly opts: DovecotOptions = {}) {}

    get users(): string[] {
        return this.opts.users ?? DEFAULT_USERS;
    }
    get imapUrl(): string {
        return `imap://${MASTER.user}:${MASTER.password}@127.0.0.1:${this.imapPort}`;
    }
    get lmtpUrl(): string {
        return `lmtp://127.0.0.1:${this.lmtpPort}`;
    }
    get ldaTarget(): string {
        return `lda:/usr/lib/dovecot/dovecot-lda?-c ${this.conf}`;
    }
    /** dovecot-lda for `user` against this instance, as argv. */
    ldaCommand(user: string): string[] {
        return ['/usr/lib/dovecot/dovecot-lda', '-c', this.conf, '-d', user];
    }
    get log(): string {
        try {
            return readFileSync(path.join(this.dir, 'dovecot.log'), 'utf8');
        } catch {
            return '';
        }
    }

    async start(): Promise<this> {
        if (!this.dir) await this.prepare();
        this.proc = startProcess('/usr/sbin/dovecot', ['-F', '-c', this.conf]);
        try {
            await waitForPort(this.lmtpPort, { greeting: /^220 /m });
            await waitForPort(this.imapPort, { greeting: /^\* OK/m });
        } catch (err) {
            await this.stop(); // `x = await startDovecot()` leaves the caller no handle
            throw new Error(`${(err as Error).message}\n${this.log}`);
        }
        return this;
    }

    /** Stops the master (and with it its children); the temp dir stays for a restart. */
    async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
        await this.proc?.stop(signal);
        this.proc = undefined;
    }

    get pid(): number | undefined {
        return this.proc?.child.pid;
    }

    async destroy(): Promise<void> {
        await this.stop();
        if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    }

    protected async prepare(): Promise<void> {
        this.dir = mkdtempSync(path.join(this.opts.parentDir ?? tmpdir(), 'vmb-dovecot-'));
        chmodSync(this.dir, 0o755);
        for (const d of ['run', 'state', 'mail']) mkdirSync(path.join(this.dir, d), { mode: 0o755 });
        chownSync(path.join(this.dir, 'mail'), MAIL_UID, MAIL_UID);
        this.lmtpPort = await freePort();
        this.imapPort = await freePort();
        this.lmtpSocket = path.join(this.dir, 'run', 'lmtp');
        const d = this.dir;
        writeFileSync(path.join(d, 'passwd'), this.users.map(u => `${u}:{PLAIN}${PASSWORD}:${MAIL_UID}:${MAIL_UID}::${d}/mail/${u}::\n`).join(''));
        writeFileSync(path.join(d, 'master-users'), `${MASTER.user}:{PLAIN}${MASTER.password}\n`);
        this.conf = path.join(d, 'dovecot.conf');
        writeFileSync(
            this.conf,
            `
protocols = imap lmtp
listen = 127.0.0.1
base_dir = ${d}/run
state_dir = ${d}/state
log_path = ${d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
mail_location = maildir:${d}/mail/%u${this.opts.mailLocationOptions ?? ''}
mail_uid = ${MAIL_UID}
mail_gid = ${MAIL_UID}
first_valid_uid = 1000
lda_mailbox_autocreate = yes
namespace inbox {
  inbox = yes
  separator = ${this.opts.namespaceSeparator ?? '.'}
  mailbox Trash {
    special_use = \\Trash
    auto = create
  }
  mailbox Old {
    auto = create
  }
}
passdb {
  driver = passwd-file
  master = yes
  args = scheme=PLAIN ${d}/master-users
  pass = yes
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${d}/passwd
}
userdb {
  driver = passwd-file
  args = ${d}/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${this.imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
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

    /** An IMAP session as `user` through the master user (nothing is marked read by FETCH BODY.PEEK). */
    async imap(user: string): Promise<ImapFlow> {
        const client = new ImapFlow({
            host: '127.0.0.1',
            port: this.imapPort,
            secure: false,
            auth: { user: `${user}*${MASTER.user}`, pass: MASTER.password },
            logger: false
        });
        await client.connect();
        return client;
    }

    /** All messages of a mailbox, raw bytes, in uid order. */
    async messages(user: string, mailbox = 'INBOX'): Promise<{ uid: number; source: Buffer; flags: Set<string> }[]> {
        const client = await this.imap(user);
        try {
            const lock = await client.getMailboxLock(mailbox);
            try {
                const out: { uid: number; source: Buffer; flags: Set<string> }[] = [];
                const status = client.mailbox;
                if (status && status.exists === 0) return out;
                for await (const m of client.fetch('1:*', { uid: true, source: true, flags: true })) {
                    out.push({ uid: m.uid, source: m.source as Buffer, flags: m.flags ?? new Set() });
                }
                return out.sort((a, b) => a.uid - b.uid);
            } finally {
                lock.release();
            }
        } finally {
            await client.logout().catch(() => undefined);
        }
    }
}

export async function startDovecot(opts?: DovecotOptions): Promise<TestDovecot> {
    return new TestDovecot(opts).start();
}
