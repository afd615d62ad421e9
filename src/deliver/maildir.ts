// The embedded default target (`maildir:<dir>`): each recipient's copy in <dir>/<user>/{tmp,new,cur},
// a Maildir any client (or Dovecot with mail_location = maildir:<dir>/%u) reads. The message is
// streamed once to disk and fsynced, hard-linked into the other recipients' tmp/ and renamed into
// new/ (the atomic step), then new/ is fsynced: a 250 means the copy survives a crash. No user
// database: every recipient is accepted; disk errors are 451 4.3.0.
import { constants, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../log.js';
import { SmtpError, tempFail, type Deliverer, type DeliveryTransaction, type Envelope, type Outcome, type Recipient } from './deliverer.js';
import { newName, safeUser, uniqueName, unstorableUser } from './maildir-name.js';
import { sweepTmp } from './maildir-sweep.js';
import { drain, tee } from './tee.js';
import { reply } from '../smtp/replies.js';

export class MaildirDeliverer implements Deliverer {
    readonly target: string;
    readonly root: string;
    /** The start-up sweep of stale tmp/ files (maildir-sweep.ts); resolves with the count removed. */
    readonly swept: Promise<number>;
    private readonly log: Logger;

    constructor({ dir, text }: { dir: string; text: string }, opts: { logger?: Logger } = {}) {
        this.target = text;
        this.root = path.resolve(dir);
        this.log = (opts.logger ?? pino({ level: 'silent' })).child({ downstream: 'maildir' });
        this.swept = sweepTmp(this.root).then(
            n => (n > 0 && this.log.warn({ removed: n }, 'removed partial files a previous run left in tmp/'), n),
            err => (this.log.warn({ err: (err as Error).message }, 'tmp/ sweep failed'), 0)
        );
    }

    async begin(envelope: Envelope): Promise<DeliveryTransaction> {
        return new MaildirTransaction(this.root, envelope, this.log);
    }

    async close(): Promise<void> {}
}

interface Copy {
    dir: string;
    unique: string;
    error?: SmtpError;
    /** Renamed into new/: nothing of it is left in tmp/. */
    stored?: boolean;
}

const tmpOf = (c: Copy) => path.join(c.dir, 'tmp', c.unique);

class MaildirTransaction implements DeliveryTransaction {
    private readonly rcpts: Recipient[] = [];
    private aborted = false;
    private readonly stop = new AbortController();

    constructor(
        private readonly root: string,
        private readonly envelope: Envelope,
        private readonly log: Logger
    ) {}

    async addRecipient(rcpt: Recipient): Promise<void> {
        if (!rcpt.user) throw reply.badRecipient('Bad recipient: empty username');
        // refused now: accepted, it would fail with ENAMETOOLONG at every retry for days
        const why = unstorableUser(this.root, rcpt.user);
        if (why) throw reply.badRecipient(`Bad recipient address syntax: ${why}`);
        this.rcpts.push(rcpt);
    }

    async data(message: Readable): Promise<Outcome[]> {
        if (this.aborted || this.rcpts.length === 0) {
            drain(message);
            return this.rcpts.map(() => ({ ok: false, error: reply.aborted() }));
        }
        const copies: Copy[] = this.rcpts.map(r => ({ dir: path.join(this.root, safeUser(r.user)), unique: uniqueName() }));
        try {
            return await this.store(copies, message);
        } finally {
            // every copy not renamed into new/ (a failure at any step, an abort) leaves no tmp/ file
            await Promise.all(copies.filter(c => !c.stored).map(c => unlink(tmpOf(c)).catch(() => undefined)));
        }
    }

    private async store(copies: Copy[], message: Readable): Promise<Outcome[]> {
        let size: number;
        try {
            await Promise.all([...new Set(copies.map(c => c.dir))].map(makeMaildir));
            size = await this.write(tmpOf(copies[0]), message);
        } catch (err) {
            drain(message);
            const error = this.diskError(err);
            return copies.map(() => ({ ok: false, error }));
        }
        // every copy into tmp/ first: renaming the first one moves the file the others link to
        for (const c of copies.slice(1)) await linkOrCopy(tmpOf(copies[0]), tmpOf(c)).catch(err => (c.error = this.diskError(err)));
        if (this.aborted) return copies.map(() => ({ ok: false, error: reply.aborted() }));
        const renames = copies
            .filter(c => !c.error)
            .map(async c => {
                await rename(tmpOf(c), path.join(c.dir, 'new', newName(c.unique, size))).catch(err => (c.error = this.diskError(err)));
                if (!c.error) c.stored = true;
            });
        await Promise.all(renames);
        const newDirs = [...new Set(copies.filter(c => !c.error).map(c => path.join(c.dir, 'new')))];
        await Promise.all(
            newDirs.map(d =>
                fsyncPath(d).catch(err => {
                    for (const c of copies) if (path.join(c.dir, 'new') === d) c.error = this.diskError(err);
                })
            )
        );
        return copies.map(c => (c.error ? { ok: false, error: c.error } : { ok: true, text: '2.0.0 Ok: stored', mailbox: 'INBOX' }));
    }

    abort(): void {
        this.aborted = true;
        this.stop.abort();
    }

    /** Streams the message into a new file, fsynced before it closes; returns its size. */
    private async write(file: string, message: Readable): Promise<number> {
        const out = createWriteStream(file, { flags: 'wx', mode: 0o600, flush: true });
        // settled (and handled) from the start: ENOSPC/EDQUOT may come while tee() still runs,
        // and a rejection nobody awaits yet would take the whole process down
        let failure: Error | undefined;
        out.on('error', err => (failure ??= err));
        const closed = new Promise<void>(resolve => out.once('close', resolve));
        const onAbort = () => out.destroy(new Error('transaction aborted'));
        this.stop.signal.addEventListener('abort', onAbort, { once: true });
        try {
            await tee(message, [out], this.stop.signal);
        } catch (err) {
            out.destroy(err as Error); // a broken message stays in tmp/ and is removed
        } finally {
            this.stop.signal.removeEventListener('abort', onAbort);
        }
        await closed;
        if (failure) throw failure;
        if (this.aborted) throw new Error('transaction aborted');
        return out.bytesWritten;
    }

    private diskError(err: unknown): SmtpError {
        const reason = (err as Error).message;
        if (!this.aborted) this.log.error({ session: this.envelope.sessionId, reason }, 'maildir write failed');
        return tempFail(`Cannot store message: ${(err as NodeJS.ErrnoException).code ?? reason}`, '4.3.0');
    }
}

async function makeMaildir(dir: string): Promise<void> {
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
}

async function linkOrCopy(from: string, to: string): Promise<void> {
    try {
        await link(from, to);
    } catch {
        await copyFile(from, to, constants.COPYFILE_EXCL); // e.g. a user dir on another filesystem
        await fsyncPath(to);
    }
}

async function fsyncPath(p: string): Promise<void> {
    const fh = await open(p, 'r');
    try {
        await fh.sync();
    } finally {
        await fh.close();
    }
}
