// Onward delivery to Dovecot LMTP (`lmtp://host:port`, `lmtp:/path/to/socket`) as a streaming
// proxy: MAIL with the first RCPT in one write, each RCPT forwarded live with Dovecot's verdict
// passed back, the body straight from the MTA's stream — BDAT chunks when Dovecot offers CHUNKING,
// else DATA dot-stuffed —, one reply per accepted recipient. Connections come from a pool. Any
// link failure is a 451 for whatever is still pending: the MTA retries, nothing is lost; abort()
// before the final dot (or `BDAT … LAST`) drops the connection so nothing is stored.
//
// Why BDAT is safe to use (decided for issue 22): Postfix's own LMTP client sends BDAT when
// offered and waits for the end-of-message replies with the same data-done timeout. A Dovecot that
// stops reading stalls the body write, which the phase timeout catches; only a Dovecot that hangs
// after reading the whole body is noticed after the data-done timeout — as with DATA, where the
// 354 proved it alive only before the body.
import type { Readable, Transform } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../log.js';
import { SmtpError, tempFail, type Deliverer, type DeliveryTransaction, type Envelope, type Outcome, type Recipient } from './deliverer.js';
import { DotStuffer } from './dot-stuff.js';
import { BdatChunker, bdatLine } from './bdat.js';
import { LinkError, describe, replyError, type LmtpAddress, type LmtpConnection, type Reply } from './lmtp-connection.js';
import { LmtpPool } from './lmtp-pool.js';
import { drain, tee } from './tee.js';
import { reply } from '../smtp/replies.js';
import { DEFAULTS } from '../config.js';
import { LMTP_IDLE_MS, LMTP_POOL_MAX } from '../limits.js';

export interface LmtpOptions {
    /** Per phase (connect, each reply, a stalled write), ms. */
    timeoutMs?: number;
    logger?: Logger;
    /**
     * Silence allowed after the final dot, ms (as Postfix's lmtp_data_done_timeout): Dovecot
     * answers only after storing the copies, minutes for thousands of recipients. Default: the
     * phase timeout or 540 s, whichever is longer.
     */
    dataDoneTimeoutMs?: number;
    /** Connections open at once. */
    poolSize?: number;
    /** Idle connections close after this long; 0 = a fresh connection per transaction. */
    idleMs?: number;
    /** false: DATA even when Dovecot offers CHUNKING (tests of the fallback, A/B benchmarks). Default true. */
    chunking?: boolean;
}

export class LmtpDeliverer implements Deliverer {
    readonly target: string;
    readonly pool: LmtpPool;
    private readonly log: Logger;
    private readonly dataDoneMs: number;
    private readonly chunking: boolean;

    constructor({ address: addr, text }: { address: LmtpAddress; text: string }, opts: LmtpOptions = {}) {
        this.target = text;
        const timeoutMs = opts.timeoutMs ?? DEFAULTS.deliverTimeout;
        this.pool = new LmtpPool(addr, { max: opts.poolSize ?? LMTP_POOL_MAX, idleMs: opts.idleMs ?? LMTP_IDLE_MS, timeoutMs });
        this.dataDoneMs = Math.max(timeoutMs, opts.dataDoneTimeoutMs ?? DEFAULTS.deliverDataDoneTimeout);
        this.chunking = opts.chunking ?? true;
        this.log = (opts.logger ?? pino({ level: 'silent' })).child({ downstream: describe(addr) });
    }

    async begin(envelope: Envelope): Promise<DeliveryTransaction> {
        return new LmtpTransaction(this.pool, envelope, this.log, this.dataDoneMs, this.chunking);
    }

    close(): Promise<void> {
        return this.pool.close();
    }
}

type State = 'open' | 'data' | 'done' | 'aborted';

class LmtpTransaction implements DeliveryTransaction {
    private readonly accepted: Recipient[] = [];
    /** A pooled connection, taken at begin() so that opening one overlaps the MTA's RCPT. */
    private readonly acquired: Promise<LmtpConnection>;
    /** The connection with MAIL accepted, once the first RCPT went out with it. */
    private mailed?: Promise<LmtpConnection>;
    private conn?: LmtpConnection;
    private state: State = 'open';
    private readonly stop = new AbortController();

    constructor(
        private readonly pool: LmtpPool,
        private readonly envelope: Envelope,
        private readonly log: Logger,
        private readonly dataDoneMs: number,
        private readonly chunking: boolean
    ) {
        this.acquired = pool.acquire().then(conn => (this.conn = conn));
        this.acquired.catch(() => undefined); // reported to addRecipient
    }

    async addRecipient(rcpt: Recipient): Promise<void> {
        if (this.state !== 'open') throw tempFail('transaction no longer open', '4.5.0');
        try {
            const r = await this.rcpt(`RCPT TO:<${rcpt.user}>`);
            if (r.code !== 250 && r.code !== 251) throw replyError(r);
            this.accepted.push(rcpt);
        } catch (err) {
            throw this.smtpError(err, rcpt.address);
        }
    }

    async data(message: Readable): Promise<Outcome[]> {
        const rcpts = [...this.accepted];
        if (this.state !== 'open' || rcpts.length === 0 || !this.mailed) {
            drain(message);
            return rcpts.map(() => ({ ok: false, error: reply.aborted() }));
        }
        this.state = 'data';
        const outcomes: Outcome[] = [];
        let conn: LmtpConnection | undefined;
        try {
            conn = await this.mailed;
            this.checkAborted();
            const refused = this.chunking && conn.chunking ? await this.sendChunks(conn, message) : await this.sendData(conn, message);
            if (refused) {
                drain(message);
                this.release(conn, true); // unusable (sendChunks destroyed it) or reset by the refusal
                return rcpts.map(() => ({ ok: false, error: replyError(refused) }));
            }
            // the end of the message is out: Dovecot commits, abort() no longer can; giving up
            // now would 451 copies Dovecot is still storing: duplicates at every retry. So the
            // wait for these replies is the long data-done timeout.
            for (const _ of rcpts) outcomes.push(outcome(await conn.reply(this.dataDoneMs)));
            this.release(conn, true);
        } catch (err) {
            drain(message);
            if (conn) this.release(conn, false);
            const error = this.smtpError(err);
            while (outcomes.length < rcpts.length) outcomes.push({ ok: false, error });
        }
        if (this.state === 'data') this.state = 'done';
        return outcomes;
    }

    abort(): void {
        if (this.state === 'done' || this.state === 'aborted') return;
        const streaming = this.state === 'data';
        this.state = 'aborted';
        this.stop.abort();
        if (streaming) {
            // the final dot must never go out: only closing the connection guarantees it
            this.conn?.destroy('transaction aborted');
            return;
        }
        if (!this.mailed) {
            // nothing sent yet: the connection goes back as it came
            this.acquired.then(
                conn => this.release(conn, true),
                () => undefined
            );
            return;
        }
        // nothing sent after MAIL/RCPT yet: reset the session and keep the connection
        this.mailed.then(
            conn =>
                conn.command('RSET').then(
                    r => this.release(conn, r.code === 250),
                    () => this.release(conn, false)
                ),
            () => undefined
        );
    }

    /**
     * Sends one RCPT. The first goes out with MAIL FROM in one write (Dovecot advertises
     * PIPELINING), so the MTA's MAIL costs Dovecot no round trip of its own.
     */
    private rcpt(line: string): Promise<Reply> {
        if (this.mailed) return this.mailed.then(conn => conn.command(line));
        const first = this.mailWith(line);
        this.mailed = first.then(f => f.conn);
        this.mailed.catch(() => undefined); // each later RCPT reports it
        return first.then(f => f.reply);
    }

    private async mailWith(line: string): Promise<{ conn: LmtpConnection; reply: Reply }> {
        for (let conn = await this.acquired; ; conn = await this.pool.acquire()) {
            this.conn = conn;
            // A bare MAIL FROM: no SIZE/BODY/SMTPUTF8 parameters go to Dovecot (README, "MAIL parameters").
            const mail = conn.command(`MAIL FROM:<${this.envelope.from}>`);
            const rcpt = conn.command(line); // without PIPELINING it waits for MAIL's reply
            rcpt.catch(() => undefined); // MAIL's failure is the one reported
            try {
                const r = await mail;
                if (r.code !== 250) {
                    await rcpt.catch(() => undefined); // its "503 MAIL needed first" must be read before reuse
                    this.release(conn, true);
                    throw replyError(r);
                }
                return { conn, reply: await rcpt };
            } catch (err) {
                // a pooled connection the server has dropped meanwhile: transparently use another
                if (err instanceof LinkError && conn.reused && this.state === 'open') {
                    this.release(conn, false);
                    continue;
                }
                throw err;
            }
        }
    }

    /** DATA, then the body dot-stuffed; Dovecot's refusal of DATA, or nothing once the final dot is out. */
    private async sendData(conn: LmtpConnection, message: Readable): Promise<Reply | undefined> {
        const go = await conn.command('DATA');
        if (go.code !== 354) return go;
        const stuffer = new DotStuffer();
        await this.stream(conn, message, stuffer, (chunk: Buffer) => conn.write(chunk));
        if (!stuffer.terminated) throw new LinkError('message stream ended early');
        conn.flush();
        this.state = 'done';
        return undefined;
    }

    /**
     * The body in BDAT chunks, their replies read pipelined (a refused chunk stops the stream),
     * then `BDAT n LAST` with the rest. Returns Dovecot's refusal of a chunk (the connection is
     * then destroyed: how many replies follow is unknown), or nothing once LAST is out and every
     * chunk was accepted.
     */
    private async sendChunks(conn: LmtpConnection, message: Readable): Promise<Reply | undefined> {
        const chunker = new BdatChunker();
        const acks: Promise<Reply>[] = [];
        let refused: Reply | undefined;
        const refuse = (r: Reply) => {
            refused = r;
            conn.destroy(`BDAT refused: ${r.code}`);
            return r;
        };
        const ack = (r: Reply) => {
            if (r.code !== 250 && !refused) {
                refused = r;
                chunker.destroy(replyError(r)); // no further chunk, never a LAST
            }
            return r;
        };
        try {
            await this.stream(conn, message, chunker, async (pieces: Buffer[]) => {
                await conn.writeParts([bdatLine(pieces, false), ...pieces]);
                const a = conn.reply().then(ack);
                a.catch(() => undefined); // awaited below, unless the stream fails first
                acks.push(a);
            });
        } catch (err) {
            if (refused) return refuse(refused);
            throw err;
        }
        const rest = chunker.rest;
        if (!rest) throw new LinkError('message stream ended early');
        if (refused) return refuse(refused);
        await conn.writeParts([bdatLine(rest, true), ...rest]); // sent now: the reply waits on it
        this.state = 'done';
        for (const a of acks) {
            const r = await a;
            if (r.code !== 250) return refuse(r);
        }
        return undefined;
    }

    /** Streams the MTA's message through `framer` to `write`; throws unless the source ended intact. */
    private async stream<T>(conn: LmtpConnection, message: Readable, framer: Transform, write: (chunk: T) => Promise<void>): Promise<void> {
        const copy = tee(message, [framer], this.stop.signal);
        copy.catch(err => framer.destroy(err)); // a broken source must never be terminated
        // stop waiting for the MTA's next bytes once there is nowhere to send them
        const onAbort = () => framer.destroy(new LinkError('transaction aborted', '4.3.0'));
        this.stop.signal.addEventListener('abort', onAbort, { once: true });
        const offClose = conn.onClose(() => framer.destroy(new LinkError('connection lost during the message')));
        try {
            for await (const chunk of framer) {
                this.checkAborted();
                await write(chunk as T);
            }
        } finally {
            this.stop.signal.removeEventListener('abort', onAbort);
            offClose();
        }
        await copy;
        this.checkAborted();
    }

    private checkAborted(): void {
        if (this.state === 'aborted') throw new LinkError('transaction aborted', '4.3.0');
    }

    private release(conn: LmtpConnection, reusable: boolean): void {
        if (this.conn === conn) this.conn = undefined;
        this.pool.release(conn, reusable);
    }

    private smtpError(err: unknown, rcpt?: string): SmtpError {
        if (err instanceof SmtpError) return err;
        const reason = (err as Error).message;
        this.log.warn({ session: this.envelope.sessionId, rcpt, reason }, 'LMTP downstream failed');
        return reply.downstreamUnavailable(reason, err instanceof LinkError ? err.enhanced : '4.3.0');
    }
}

function outcome(r: Reply): Outcome {
    if (r.code !== 250) return { ok: false, error: replyError(r) };
    // Dovecot: "250 2.0.0 <rcpt> <session-id> Saved"; the id joins its MessageNew event
    const id = /^<[^>]*>\s+(\S+)\s+Saved/.exec(r.text)?.[1];
    return { ok: true, text: `${r.enhanced ?? '2.0.0'} ${r.text}`, downstreamId: id };
}
