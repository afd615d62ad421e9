// Asterisk Manager Interface client: a plain TCP session (banner `Asterisk Call Manager/x.y.z`,
// then `Key: Value` lines, each message ended by a blank line), Login asking for `call` class
// events only (MessageWaiting is one; the manager user needs `read = call`), actions correlated to
// responses by ActionID. It reconnects with backoff and keeps at most one queued action per key
// (a box), so a long outage leaves only the latest state to send.
import net from 'node:net';
import type { Logger } from '../log.js';
import { stripBrackets } from '../net/address.js';
import { AMI_BACKOFF_MAX_MS, AMI_BACKOFF_MIN_MS, AMI_TIMEOUT_MS, AMI_LOGOFF_GRACE_MS, AMI_KEEPALIVE_MS } from '../limits.js';

export type AmiMessage = Record<string, string>;

export interface AmiTarget {
    host: string;
    port: number;
    username: string;
    secret: string;
}

/** `ami://user:secret@host:port` (port 5038 when absent). */
export function parseAmiUrl(url: string): AmiTarget {
    const u = new URL(url);
    if (u.protocol !== 'ami:') throw new Error('expected ami://user:secret@host:port');
    if (!u.username) throw new Error('the AMI url needs a user: ami://user:secret@host:port');
    return {
        host: stripBrackets(u.hostname),
        port: u.port ? Number(u.port) : 5038,
        username: decodeURIComponent(u.username),
        secret: decodeURIComponent(u.password)
    };
}

export function encodeAmi(msg: AmiMessage): string {
    // CR/LF inside a value would start a new field: the protocol has no escaping.
    return (
        Object.entries(msg)
            .map(([k, v]) => `${k}: ${String(v).replace(/[\r\n]+/g, ' ')}\r\n`)
            .join('') + '\r\n'
    );
}

/** Splits complete messages off a buffer; returns them and the unparsed rest. */
export function decodeAmi(buf: string): { messages: AmiMessage[]; rest: string } {
    const messages: AmiMessage[] = [];
    let rest = buf;
    for (let m = /\r?\n\r?\n/.exec(rest); m; m = /\r?\n\r?\n/.exec(rest)) {
        const block = rest.slice(0, m.index);
        rest = rest.slice(m.index + m[0].length);
        const msg: AmiMessage = {};
        for (const line of block.split(/\r?\n/)) {
            const colon = line.indexOf(':');
            if (colon > 0) msg[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
        }
        if (Object.keys(msg).length) messages.push(msg);
    }
    return { messages, rest };
}

export interface AmiClientOptions {
    logger: Logger;
    backoffMinMs?: number;
    backoffMaxMs?: number;
    /** A response not seen within this long fails the action. */
    timeoutMs?: number;
}

/** Asterisk answered the action with an error (`Permission denied`, `Invalid/unknown command`). */
export class AmiRefused extends Error {
    constructor(
        readonly action: string,
        readonly reason: string
    ) {
        super(`AMI ${action}: ${reason}`);
    }
}

export interface AmiStatus {
    connected: boolean;
    /** From the banner `Asterisk Call Manager/x.y.z`, once seen. */
    version?: string;
    /** Why it is not connected: `down` (unreachable) or `login` (refused credentials). */
    problem?: 'down' | 'login';
}

interface Pending {
    action: AmiMessage;
    key: string;
    waiters: { resolve(r: AmiMessage): void; reject(e: Error): void }[];
    timer?: NodeJS.Timeout;
}

type State = 'idle' | 'connecting' | 'login' | 'ready';

export class AmiClient {
    private readonly target: AmiTarget;
    private sock?: net.Socket;
    private state: State = 'idle';
    private buf = '';
    private banner = false;
    private nextId = 1;
    private anonymous = 1;
    private loginId = '';
    private readonly queue = new Map<string, Pending>();
    private readonly inflight = new Map<string, Pending>();
    private backoff: number;
    private retry?: NodeJS.Timeout;
    private closed = false;
    /** What was last reported (so an outage or bad secret is logged once, not per retry). */
    private reported: '' | 'down' | 'login' = '';
    private version?: string;
    private readonly eventListeners: ((m: AmiMessage) => void)[] = [];
    private readonly readyListeners: (() => void)[] = [];

    constructor(
        target: AmiTarget,
        private readonly opts: AmiClientOptions
    ) {
        this.target = target;
        this.backoff = opts.backoffMinMs ?? AMI_BACKOFF_MIN_MS;
    }

    get ready(): boolean {
        return this.state === 'ready';
    }

    /** close() was called: failures from now on are the shutdown's, not Asterisk's. */
    get stopped(): boolean {
        return this.closed;
    }

    status(): AmiStatus {
        return { connected: this.ready, version: this.version, ...(this.reported && { problem: this.reported }) };
    }

    /** Every event Asterisk sends this session (Event: …). */
    onEvent(listener: (m: AmiMessage) => void): void {
        this.eventListeners.push(listener);
    }

    /** After every successful login: the first and each reconnect. */
    onReady(listener: () => void): void {
        this.readyListeners.push(listener);
    }

    start(): void {
        this.closed = false;
        if (this.state === 'idle' && !this.retry) this.connect();
    }

    /**
     * Sends an action once logged in (queued meanwhile). A newer action with the same key replaces
     * a queued one; both callers get the newer one's response.
     */
    send(action: AmiMessage, key = `#${this.anonymous++}`): Promise<AmiMessage> {
        return new Promise((resolve, reject) => {
            if (this.closed) return reject(new Error('AMI client closed'));
            const old = this.queue.get(key);
            // Re-inserted so the replacement keeps queue order by recency.
            this.queue.delete(key);
            this.queue.set(key, { action, key, waiters: [...(old?.waiters ?? []), { resolve, reject }] });
            this.flush();
        });
    }

    async close(): Promise<void> {
        this.closed = true;
        clearTimeout(this.retry);
        this.retry = undefined;
        const err = new Error('AMI client closed');
        for (const p of [...this.queue.values(), ...this.inflight.values()]) this.fail(p, err);
        this.queue.clear();
        this.inflight.clear();
        const sock = this.sock;
        if (!sock || sock.destroyed) return;
        if (this.state === 'ready') sock.write(encodeAmi({ Action: 'Logoff' }));
        await new Promise<void>(resolve => {
            sock.once('close', () => resolve());
            sock.end();
            setTimeout(() => sock.destroy(), AMI_LOGOFF_GRACE_MS).unref();
        });
    }

    private connect(): void {
        this.retry = undefined;
        this.state = 'connecting';
        this.buf = '';
        this.banner = false;
        const sock = net.connect({ host: this.target.host, port: this.target.port });
        this.sock = sock;
        sock.setEncoding('utf8');
        sock.setKeepAlive(true, AMI_KEEPALIVE_MS);
        // Events of a socket already given up on must not touch the current one.
        sock.on('data', (d: string) => this.sock === sock && this.onData(d));
        sock.on('error', err => this.sock === sock && this.onDown(err.message));
        sock.on('close', () => this.sock === sock && this.onDown('connection closed'));
    }

    private onData(data: string): void {
        this.buf += data;
        if (!this.banner) {
            const nl = this.buf.indexOf('\n');
            if (nl < 0) return;
            const line = this.buf.slice(0, nl).trim();
            this.buf = this.buf.slice(nl + 1);
            if (!/^Asterisk Call Manager\//.test(line)) {
                this.opts.logger.error({ banner: line.slice(0, 80), host: this.target.host, port: this.target.port }, 'AMI: not an Asterisk manager port');
                this.sock?.destroy();
                return;
            }
            this.banner = true;
            this.version = line.slice(line.indexOf('/') + 1).trim();
            this.state = 'login';
            this.loginId = `vmb-${this.nextId++}`;
            // Only the call class: MessageWaiting is in it, and the rest of the PBX's chatter is not.
            this.sock?.write(encodeAmi({ Action: 'Login', Username: this.target.username, Secret: this.target.secret, Events: 'call', ActionID: this.loginId }));
        }
        const { messages, rest } = decodeAmi(this.buf);
        this.buf = rest;
        for (const m of messages) this.onMessage(m);
    }

    private onMessage(m: AmiMessage): void {
        const id = m.ActionID;
        if (this.state === 'login' && id === this.loginId) {
            if (/^success$/i.test(m.Response ?? '')) {
                this.opts.logger.info(
                    { host: this.target.host, port: this.target.port, version: this.version, user: this.target.username },
                    `AMI connected (Asterisk Call Manager/${this.version})`
                );
                this.reported = '';
                this.state = 'ready';
                this.backoff = this.opts.backoffMinMs ?? AMI_BACKOFF_MIN_MS;
                this.flush();
                for (const l of this.readyListeners) l();
            } else {
                if (this.reported !== 'login') {
                    this.opts.logger.error(
                        { user: this.target.username, host: this.target.host, port: this.target.port, message: m.Message },
                        `AMI login failed for user ${this.target.username}: ${m.Message ?? 'no reason given'} (check the secret in --ami and manager.conf)`
                    );
                }
                this.reported = 'login';
                this.sock?.destroy();
            }
            return;
        }
        if (m.Event) {
            for (const l of this.eventListeners) l(m);
            return;
        }
        const p = id ? this.inflight.get(id) : undefined;
        if (!p) return; // unknown responses are not ours
        this.inflight.delete(id!);
        clearTimeout(p.timer);
        if (/^(success|follows)$/i.test(m.Response ?? '')) for (const w of p.waiters) w.resolve(m);
        else this.fail(p, new AmiRefused(p.action.Action, m.Message ?? m.Response ?? 'error'));
    }

    private flush(): void {
        if (this.state === 'idle' && !this.retry && !this.closed) return this.connect();
        if (this.state !== 'ready' || !this.sock) return;
        for (const p of this.queue.values()) {
            this.queue.delete(p.key);
            const id = `vmb-${this.nextId++}`;
            this.inflight.set(id, p);
            p.timer = setTimeout(() => {
                this.inflight.delete(id);
                this.fail(p, new Error(`AMI ${p.action.Action}: no response`));
            }, this.opts.timeoutMs ?? AMI_TIMEOUT_MS);
            p.timer.unref();
            this.sock.write(encodeAmi({ ...p.action, ActionID: id }));
        }
    }

    private onDown(why: string): void {
        if (this.state === 'idle') return;
        this.state = 'idle';
        this.sock?.destroy();
        this.sock = undefined;
        // Actions without a response go out again after reconnecting (both actions are idempotent),
        // unless a newer one for the same key is already queued.
        for (const [id, p] of this.inflight) {
            clearTimeout(p.timer);
            this.inflight.delete(id);
            const newer = this.queue.get(p.key);
            if (newer) newer.waiters.unshift(...p.waiters);
            else this.queue.set(p.key, p);
        }
        if (this.closed) return;
        if (!this.reported) {
            this.opts.logger.warn({ host: this.target.host, port: this.target.port, err: why }, 'AMI unavailable; retrying with backoff');
            this.reported = 'down';
        }
        const wait = this.backoff;
        this.backoff = Math.min(this.backoff * 2, this.opts.backoffMaxMs ?? AMI_BACKOFF_MAX_MS);
        this.retry = setTimeout(() => this.connect(), wait);
        this.retry.unref();
    }

    private fail(p: Pending, err: Error): void {
        clearTimeout(p.timer);
        for (const w of p.waiters) w.reject(err);
    }
}
