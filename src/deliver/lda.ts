// Onward delivery through dovecot-lda (`lda:<path>[?args]`, args split on spaces, e.g.
// `lda:/usr/lib/dovecot/dovecot-lda?-c /etc/dovecot/dovecot.conf`). One child per recipient,
// all fed from the one message stream; the exit code is the per-recipient verdict (design:
// "lda target"). `-e` makes dovecot-lda refuse instead of bouncing, so the MTA owns bounces.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../log.js';
import { noUser, SmtpError, tempFail, type Deliverer, type DeliveryTransaction, type Envelope, type Outcome, type Recipient } from './deliverer.js';
import { drain, tee } from './tee.js';
import { reply } from '../smtp/replies.js';
import { DEFAULTS } from '../config.js';

export interface LdaOptions {
    /** A child may be stuck (not reading, or not exiting after the message ended) this long, ms. */
    timeoutMs?: number;
    logger?: Logger;
}

/** dovecot-lda exit status (sysexits) → the reply for that recipient. */
export function exitOutcome(code: number | null, signal: string | null, stderr: string): Outcome {
    const why = stderr.trim().split('\n').pop()?.slice(0, 200);
    if (code === 0) return { ok: true, text: '2.0.0 Ok: delivered', mailbox: 'INBOX' };
    if (code === 67) return { ok: false, error: noUser(why || 'User unknown') };
    if (code === 77) return { ok: false, error: new SmtpError(554, '5.7.1', why || 'Delivery refused') };
    if (code === 75) return { ok: false, error: tempFail(why || 'Temporary failure, try again later', '4.2.0') };
    const how = signal ? `signal ${signal}` : `exit ${code}`;
    return { ok: false, error: tempFail(`Delivery agent failed (${how})${why ? ': ' + why : ''}`, '4.3.0') };
}

export class LdaDeliverer implements Deliverer {
    readonly target: string;
    private readonly cmd: { path: string; args: string[] };
    private readonly timeoutMs: number;
    private readonly log: Logger;

    constructor({ path, args, text }: { path: string; args: string[]; text: string }, opts: LdaOptions = {}) {
        this.target = text;
        this.cmd = { path, args };
        this.timeoutMs = opts.timeoutMs ?? DEFAULTS.deliverTimeout;
        this.log = (opts.logger ?? pino({ level: 'silent' })).child({ downstream: 'dovecot-lda' });
    }

    async begin(envelope: Envelope): Promise<DeliveryTransaction> {
        return new LdaTransaction(envelope, (rcpt, from) => this.spawn(rcpt, from), this.log);
    }

    async close(): Promise<void> {}

    private spawn(rcpt: Recipient, from: string): Child {
        const args = [...this.cmd.args, '-e', '-d', rcpt.user, '-a', rcpt.address, '-f', from];
        return new Child(spawn(this.cmd.path, args, { stdio: ['pipe', 'ignore', 'pipe'] }), this.timeoutMs);
    }
}

/** One dovecot-lda run: its verdict, bounded by a watchdog that runs only while it holds us up. */
class Child {
    readonly outcome: Promise<Outcome>;
    private stderr = '';
    private watchdog?: NodeJS.Timeout;
    private timedOut = false;

    constructor(
        readonly proc: ChildProcess,
        private readonly timeoutMs: number
    ) {
        proc.stderr!.on('data', d => (this.stderr = (this.stderr + d).slice(-2000)));
        proc.stdin!.on('drain', () => this.disarm());
        proc.stdin!.once('finish', () => this.arm()); // message complete: now it must finish
        this.outcome = new Promise(resolve => {
            proc.once('error', err => resolve(exitOutcome(null, null, err.message)));
            proc.once('close', (code, signal) => {
                this.disarm();
                resolve(this.timedOut ? { ok: false, error: tempFail(`Delivery agent timed out after ${this.timeoutMs} ms`, '4.4.2') } : exitOutcome(code, signal, this.stderr));
            });
        });
    }

    /** Called after each chunk: a child that stops reading is given timeoutMs to catch up. */
    checkStalled(): void {
        if (this.proc.stdin!.writableNeedDrain) this.arm();
    }

    kill(): void {
        this.proc.kill('SIGKILL');
    }

    get log(): string {
        return this.stderr.trim();
    }

    private arm(): void {
        this.watchdog ??= setTimeout(() => {
            this.timedOut = true;
            this.kill();
        }, this.timeoutMs);
    }

    private disarm(): void {
        clearTimeout(this.watchdog);
        this.watchdog = undefined;
    }
}

class LdaTransaction implements DeliveryTransaction {
    private readonly rcpts: Recipient[] = [];
    private children: Child[] = [];
    private aborted = false;
    private readonly stop = new AbortController();

    constructor(
        private readonly envelope: Envelope,
        private readonly spawn: (r: Recipient, from: string) => Child,
        private readonly log: Logger
    ) {}

    async addRecipient(rcpt: Recipient): Promise<void> {
        this.rcpts.push(rcpt); // the verdict comes from dovecot-lda's exit code after DATA
    }

    async data(message: Readable): Promise<Outcome[]> {
        if (this.aborted || this.rcpts.length === 0) {
            drain(message);
            return this.rcpts.map(() => ({ ok: false, error: reply.aborted() }));
        }
        this.children = this.rcpts.map(r => this.spawn(r, this.envelope.from));
        message.on('data', () => this.children.forEach(c => c.checkStalled()));
        try {
            await tee(
                message,
                this.children.map(c => c.proc.stdin!),
                this.stop.signal
            );
        } catch {
            this.abort(); // a broken message must not reach a mailbox: kill before stdin ends
        }
        const outcomes = await Promise.all(this.children.map(c => c.outcome));
        outcomes.forEach((o, i) => {
            const rcpt = this.rcpts[i].address;
            if (!o.ok) this.log.warn({ session: this.envelope.sessionId, rcpt, code: o.error.responseCode, stderr: this.children[i].log }, 'dovecot-lda did not store');
        });
        return outcomes; // after abort: killed children report 451, any that had finished their 250
    }

    abort(): void {
        if (this.aborted) return;
        this.aborted = true;
        // SIGKILL before stdin sees EOF: dovecot-lda stores only a message it read to the end
        for (const c of this.children) c.kill();
        this.stop.abort();
    }
}
