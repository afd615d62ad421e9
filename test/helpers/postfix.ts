// A real, throwaway Postfix (Debian's package): own config directory, queue and maillog under a
// temp dir, SMTP on a free loopback port. The configuration is Debian's master.cf plus the
// project's examples/postfix/ files as an administrator applies them: main.cf lines appended,
// master.cf services merged with `postconf -M`, maps copied and postmap'ed. stop() stops exactly
// this instance (`postfix -c <dir> stop`).
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor, waitForPort } from './net.js';

const run = promisify(execFile);
const EXAMPLES = path.resolve(__dirname, '../../examples/postfix');

/** An example file as shipped (examples/postfix/<rel>). */
export function postfixExample(rel: string): string {
    return readFileSync(path.join(EXAMPLES, rel), 'utf8');
}

/**
 * Replaces each `from` with `to` and fails when a `from` is not in the text: a test that must
 * change an example (a port, a path) notices when the example no longer says what it assumed.
 */
export function substitute(text: string, pairs: [from: string, to: string][]): string {
    for (const [from, to] of pairs) {
        if (!text.includes(from)) throw new Error(`example no longer contains ${JSON.stringify(from)}`);
        text = text.split(from).join(to);
    }
    return text;
}

/**
 * The instance's own config directory stands in for /etc/postfix: every `/etc/postfix/` in these
 * texts is replaced by it (the only path the helper changes).
 */
export interface PostfixOptions {
    /** main.cf lines appended to the instance's base settings (later entries win in Postfix). */
    mainCf: string;
    /** master.cf services, merged into Debian's master.cf by service name and type. */
    masterCf?: string;
    /** Map files written to <dir>/conf (name → content); `postmap` is run on each. */
    maps?: Record<string, string>;
}

export interface QueuedMessage {
    queue_name: string;
    queue_id: string;
    recipients: { address: string; delay_reason?: string }[];
}

export class TestPostfix {
    dir = '';
    conf = '';
    smtpPort = 0;

    constructor(private readonly opts: PostfixOptions) {}

    get maillog(): string {
        try {
            return readFileSync(path.join(this.dir, 'maillog'), 'utf8');
        } catch {
            return '';
        }
    }

    async start(): Promise<this> {
        if (!this.dir) await this.prepare();
        // Postfix daemonizes, out of the test's process tree: the run's teardown stops it if the test did not.
        const runDir = process.env.VMB_TEST_RUN_DIR;
        if (runDir) writeFileSync(path.join(runDir, `postfix-${path.basename(this.dir)}`), this.conf);
        await this.postfix('start');
        await waitForPort(this.smtpPort, { greeting: /^220 /m });
        return this;
    }

    async stop(): Promise<void> {
        if (this.dir) await this.postfix('stop').catch(() => undefined);
    }

    async destroy(): Promise<void> {
        await this.stop();
        if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    }

    /** Retry every deferred message now (what an administrator does with `postqueue -f`). */
    async flush(): Promise<void> {
        await run('postqueue', ['-c', this.conf, '-f']);
    }

    /** The messages in the queue (`postqueue -j`: one JSON object per message). */
    async queue(): Promise<QueuedMessage[]> {
        const { stdout } = await run('postqueue', ['-c', this.conf, '-j']);
        return stdout
            .split('\n')
            .filter(Boolean)
            .map(l => JSON.parse(l) as QueuedMessage);
    }

    /** maillog lines about one recipient (`to=<rcpt>`) — the delivery agents' status lines. */
    deliveries(rcpt: string): string[] {
        return this.maillog.split('\n').filter(l => l.includes(`to=<${rcpt}>`));
    }

    async waitForDelivery(rcpt: string, status: 'sent' | 'deferred' | 'bounced', count = 1, timeoutMs = 15_000): Promise<string[]> {
        return waitFor(
            () => {
                const lines = this.deliveries(rcpt).filter(l => l.includes(`status=${status}`));
                return lines.length >= count ? lines : null;
            },
            timeoutMs,
            `postfix status=${status} for ${rcpt}\n${this.maillog}`
        );
    }

    private async postfix(cmd: 'start' | 'stop'): Promise<void> {
        try {
            await run('postfix', ['-c', this.conf, cmd]);
        } catch (err) {
            // Postfix prints fatal errors only to a terminal or the log: show the log.
            throw new Error(`postfix ${cmd} failed: ${(err as Error).message}\n${this.maillog}`);
        }
    }

    private async prepare(): Promise<void> {
        this.dir = mkdtempSync(path.join(tmpdir(), 'vmb-postfix-'));
        // Postfix daemons (user postfix, and chrooted ones) must reach every directory on the path.
        chmodSync(this.dir, 0o755);
        const d = this.dir;
        this.conf = path.join(d, 'conf');
        for (const sub of ['conf', 'queue', 'data']) mkdirSync(path.join(d, sub), { mode: 0o755 });
        const { stdout: uid } = await run('id', ['-u', 'postfix']);
        chownSync(path.join(d, 'data'), Number(uid.trim()), -1);
        this.smtpPort = await freePort();
        const local = (text: string) => text.split('/etc/postfix/').join(this.conf + '/');
        copyFileSync('/etc/postfix/master.cf', path.join(this.conf, 'master.cf'));
        writeFileSync(
            path.join(this.conf, 'main.cf'),
            `# test instance base settings
compatibility_level = 3.6
queue_directory = ${d}/queue
data_directory = ${d}/data
myhostname = mx.test.invalid
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
alias_maps =
alias_database =
smtpd_recipient_restrictions = permit_mynetworks, reject
# the postlog service (Debian's master.cf) writes here; the default prefixes allow only /var
maillog_file = ${d}/maillog
maillog_file_prefixes = ${d}
# example lines, as an administrator appends them
${local(this.opts.mainCf)}
`
        );
        // Debian's smtpd is chrooted and on port 25: one loopback listener on a free port instead.
        await this.postconf(['-MX', 'smtp/inet']);
        await this.postconf(['-M', `127.0.0.1:${this.smtpPort}/inet=127.0.0.1:${this.smtpPort} inet n - n - - smtpd`]);
        for (const service of masterServices(local(this.opts.masterCf ?? ''))) {
            const [name, type] = service.split(/\s+/);
            await this.postconf(['-M', `${name}/${type}=${service}`]);
        }
        for (const [name, content] of Object.entries(this.opts.maps ?? {})) {
            const file = path.join(this.conf, name);
            writeFileSync(file, local(content));
            await run('postmap', ['-c', this.conf, file]);
        }
    }

    private async postconf(args: string[]): Promise<void> {
        await run('postconf', ['-c', this.conf, ...args]);
    }
}

/** master.cf logical lines (an entry plus its indented continuation lines), comments dropped. */
export function masterServices(text: string): string[] {
    const out: string[] = [];
    for (const line of text.split('\n')) {
        if (/^\s*(#|$)/.test(line)) continue;
        if (/^\s/.test(line) && out.length) out[out.length - 1] += ' ' + line.trim();
        else out.push(line.trim());
    }
    return out;
}

export async function startPostfix(opts: PostfixOptions): Promise<TestPostfix> {
    return new TestPostfix(opts).start();
}
