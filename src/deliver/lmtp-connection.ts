// One LMTP client connection (TCP or unix socket): greeting and LHLO once, then commands whose
// replies are matched in order. With PIPELINING commands are written without waiting for the
// previous reply; without it they are serialised. Every wait is bounded by the phase timeout;
// a timeout or a broken socket fails everything pending with a LinkError and the connection is
// dead (the pool discards it).
import net from 'node:net';
import { hostname } from 'node:os';
import { SmtpError } from './deliverer.js';
import { LMTP_CORK_MAX } from '../limits.js';

export type LmtpAddress = { host: string; port: number } | { path: string };

export interface Reply {
    code: number;
    /** Enhanced status code when the reply carries one (RFC 2034). */
    enhanced?: string;
    /** Text after the code and enhanced code; continuation lines joined by a space. */
    text: string;
    /** Each line's text after the code (LHLO keywords are lines 2..n). */
    lines: string[];
}

/** The connection (not the server's verdict) failed: refused, reset, closed or timed out. */
export class LinkError extends Error {
    constructor(
        message: string,
        readonly enhanced = '4.4.2'
    ) {
        super(message);
        this.name = 'LinkError';
    }
}

const ENHANCED = /^([245]\.\d{1,3}\.\d{1,3}) ?/;

export function parseReply(lines: string[]): Reply {
    const code = Number(lines[0].slice(0, 3));
    const texts = lines.map(l => l.slice(4));
    const m = ENHANCED.exec(texts[0]);
    const text = texts.map(t => t.replace(ENHANCED, '')).join(' ');
    return m ? { code, enhanced: m[1], text, lines: texts } : { code, text, lines: texts };
}

/** The server's refusal as an SmtpError with its own code and enhanced code. */
export function replyError(r: Reply): SmtpError {
    return new SmtpError(r.code, r.enhanced ?? `${String(r.code)[0]}.0.0`, r.text);
}

interface Waiter {
    resolve(r: Reply): void;
    reject(err: Error): void;
    /** Silence allowed before this reply, when not the connection's phase timeout. */
    timeoutMs?: number;
}

export class LmtpConnection {
    /** LHLO keywords, upper-case (PIPELINING, 8BITMIME, SIZE, ...). */
    readonly caps = new Map<string, string>();
    /** Set by the pool when the connection served an earlier transaction. */
    reused = false;
    private idle = false;
    private buf = '';
    private lines: string[] = [];
    private readonly waiters: Waiter[] = [];
    private timer?: NodeJS.Timeout;
    private chain: Promise<unknown> = Promise.resolve();
    private failure?: LinkError;
    private corked = false;
    private readonly closeHandlers: (() => void)[] = [];

    private constructor(
        private readonly sock: net.Socket,
        private readonly timeoutMs: number
    ) {
        sock.on('data', d => this.onData(d));
        sock.on('error', err => this.fail(new LinkError(`connection failed: ${err.message}`)));
        sock.on('close', () => this.fail(new LinkError('connection closed by server')));
    }

    static async open(addr: LmtpAddress, timeoutMs: number): Promise<LmtpConnection> {
        const sock = net.connect(addr);
        sock.setNoDelay(true); // body and terminating dot go as separate writes: no Nagle wait
        const conn = new LmtpConnection(sock, timeoutMs);
        try {
            await conn.expect(
                new Promise<void>((resolve, reject) => {
                    sock.once('connect', resolve);
                    sock.once('error', err => reject(new LinkError(`cannot connect: ${err.message}`, '4.4.1')));
                }),
                'connect'
            );
            const greeting = await conn.reply();
            if (greeting.code !== 220) throw new LinkError(`greeting: ${greeting.code} ${greeting.text}`, '4.4.1');
            const lhlo = await conn.command(`LHLO ${hostname()}`, true);
            if (lhlo.code !== 250) throw new LinkError(`LHLO: ${lhlo.code} ${lhlo.text}`, '4.4.1');
            return conn;
        } catch (err) {
            conn.destroy();
            throw new LinkError(`cannot open LMTP session at ${describe(addr)}: ${(err as Error).message}`, '4.4.1');
        }
    }

    get alive(): boolean {
        return !this.failure && !this.sock.destroyed;
    }

    get pipelining(): boolean {
        return this.caps.has('PIPELINING');
    }

    /** BDAT may be used: CHUNKING offered, and PIPELINING too, since chunks go without waiting for each reply. */
    get chunking(): boolean {
        return this.caps.has('CHUNKING') && this.pipelining;
    }

    /** Runs fn when the connection fails or closes; returns the function that unregisters it. */
    onClose(fn: () => void): () => void {
        this.closeHandlers.push(fn);
        return () => {
            const i = this.closeHandlers.indexOf(fn);
            if (i >= 0) this.closeHandlers.splice(i, 1);
        };
    }

    /**
     * Sends one command line and resolves with its reply. With PIPELINING, commands issued in one
     * synchronous run (MAIL and the first RCPT) leave in one send.
     */
    command(line: string, lhlo = false): Promise<Reply> {
        const send = (): Promise<Reply> => {
            if (this.failure) return Promise.reject(this.failure);
            this.corkUntil(process.nextTick);
            this.sock.write(line + '\r\n');
            const r = this.reply();
            return lhlo ? r.then(reply => this.learn(reply)) : r;
        };
        const p = this.pipelining ? send() : this.chain.then(send, send);
        this.chain = p.catch(() => undefined);
        return p;
    }

    /**
     * The next reply from the server (LMTP sends one per recipient after DATA). timeoutMs: the
     * silence allowed before it, when longer than the phase timeout (the replies after the final
     * dot, while Dovecot stores many copies).
     */
    reply(timeoutMs?: number): Promise<Reply> {
        if (this.failure) return Promise.reject(this.failure);
        return new Promise<Reply>((resolve, reject) => {
            this.waiters.push({ resolve, reject, timeoutMs });
            this.arm();
            this.dispatch();
        });
    }

    /**
     * Writes message bytes, waiting (bounded) for the socket to drain when it is full. Small writes
     * made in one event-loop turn leave together (corked until setImmediate): a small body and its
     * terminating dot cost one send, not two — each send is a syscall and a wake-up of Dovecot. A
     * large chunk leaves at once (with whatever was held): held until the loop turn ends, a body
     * read in 64 KB chunks would reach Dovecot only after the whole of it was read.
     */
    async write(chunk: Buffer | string): Promise<void> {
        if (this.failure) throw this.failure;
        if (chunk.length < LMTP_CORK_MAX) this.corkUntil(setImmediate);
        const ok = this.sock.write(chunk);
        if (chunk.length >= LMTP_CORK_MAX) this.uncorkNow(); // after the write: held bytes and chunk in one writev
        if (ok) return;
        await this.waitDrain();
    }

    /** Writes the parts (a BDAT line and its chunk's buffers) as one send, now. */
    async writeParts(parts: (Buffer | string)[]): Promise<void> {
        if (this.failure) throw this.failure;
        this.corkUntil(setImmediate);
        let ok = true;
        for (const p of parts) ok = this.sock.write(p) && ok;
        this.uncorkNow();
        if (!ok) await this.waitDrain();
    }

    private waitDrain(): Promise<void> {
        return this.expect(new Promise<void>(resolve => this.sock.once('drain', resolve)), 'write');
    }

    /** Sends what is held now: the end of a message, which nothing in this loop turn follows (the reply waits on it). */
    flush(): void {
        this.uncorkNow();
    }

    /** Idle connections must not keep the process alive. */
    setIdle(idle: boolean): void {
        this.idle = idle;
        if (idle) this.sock.unref();
        else this.sock.ref();
        if (idle && (this.lines.length > 0 || this.waiters.length > 0)) this.destroy('unread replies');
    }

    /** Polite close for an idle connection. */
    quit(): void {
        if (!this.alive) return;
        this.fail(new LinkError('connection closed'), false);
        this.sock.end('QUIT\r\n');
        this.sock.setTimeout(this.timeoutMs, () => this.sock.destroy());
    }

    destroy(reason = 'connection closed'): void {
        this.fail(new LinkError(reason));
    }

    /** Holds writes until `later` runs (unless already held): they leave as one send. */
    private corkUntil(later: (fn: () => void) => unknown): void {
        if (this.corked) return;
        this.corked = true;
        this.sock.cork();
        later(() => {
            this.corked = false;
            this.sock.uncork();
        });
    }

    private uncorkNow(): void {
        if (!this.corked) return;
        this.corked = false;
        this.sock.uncork(); // the scheduled uncork finds nothing corked (or a later cork: flushed early)
    }

    /** Races a promise against the phase timeout and the connection's death. */
    private expect<T>(p: Promise<T>, phase: string): Promise<T> {
        return new Promise<T>((resolve, reject) => {
            if (this.failure) return reject(this.failure);
            const t = setTimeout(() => this.destroy(`timeout (${phase}, ${this.timeoutMs} ms)`), this.timeoutMs);
            const off = this.onClose(() => reject(this.failure));
            p.then(resolve, reject).finally(() => {
                clearTimeout(t);
                off();
            });
        });
    }

    private learn(r: Reply): Reply {
        // the first line is the server's name; each further one a keyword with optional params
        if (r.code === 250) {
            for (const kw of r.lines.slice(1)) {
                const [k, ...rest] = kw.split(' ');
                this.caps.set(k.toUpperCase(), rest.join(' '));
            }
        }
        return r;
    }

    private onData(d: Buffer): void {
        this.buf += d.toString('latin1');
        let i;
        while ((i = this.buf.indexOf('\n')) >= 0) {
            this.lines.push(this.buf.slice(0, i).replace(/\r$/, ''));
            this.buf = this.buf.slice(i + 1);
        }
        this.dispatch();
    }

    /** Hands complete (possibly multi-line) replies to waiters, in order. */
    private dispatch(): void {
        for (;;) {
            const end = this.lines.findIndex(l => l[3] !== '-');
            if (end < 0) return;
            if (this.waiters.length === 0) {
                // a reply may arrive before it is asked for (pipelined LMTP replies come together);
                // anything while idle (e.g. 421 before a hang-up) makes the connection unusable
                if (this.idle) this.destroy(`unexpected reply while idle: ${this.lines[0].slice(0, 80)}`);
                return;
            }
            const lines = this.lines.splice(0, end + 1);
            if (!/^\d{3}/.test(lines[0])) return this.destroy(`protocol error: ${lines[0].slice(0, 80)}`);
            const w = this.waiters.shift()!;
            w.resolve(parseReply(lines));
            this.arm();
        }
    }

    /** While any reply is outstanding, timeoutMs of silence means the server is dead. */
    private arm(): void {
        clearTimeout(this.timer);
        this.timer = undefined;
        if (this.waiters.length > 0 && !this.failure) {
            const ms = this.waiters[0].timeoutMs ?? this.timeoutMs;
            this.timer = setTimeout(() => this.destroy(`timeout waiting for reply (${ms} ms)`), ms);
        }
    }

    private fail(err: LinkError, destroySocket = true): void {
        if (this.failure) return;
        this.failure = err;
        clearTimeout(this.timer);
        for (const w of this.waiters.splice(0)) w.reject(err);
        for (const h of this.closeHandlers.splice(0)) h();
        if (destroySocket) this.sock.destroy();
    }
}

export function describe(addr: LmtpAddress): string {
    return 'path' in addr ? addr.path : `${addr.host}:${addr.port}`;
}
