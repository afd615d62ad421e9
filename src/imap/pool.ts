// IMAP sessions as any user through Dovecot's master user (login `<user>*<master>`), kept open
// and reused: a recount is a NOOP + SEARCH + FETCH on a warm session instead of a new login.
import { ImapFlow } from 'imapflow';
import type { Logger } from '../log.js';
import { requireMaster, type ImapTarget } from './target.js';
import { ConfigError } from '../config.js';
import { imapLoginFailures } from '../metrics.js';
import { IMAP_IDLE_MS, IMAP_POOL_MAX, IMAP_TIMEOUT_MS, IMAP_SOCKET_TIMEOUT_MS } from '../limits.js';

export interface ImapPoolOptions {
    logger: Logger;
    /** Dovecot's auth_master_user_separator. */
    separator?: string;
    /** Open sessions at most (busy + idle); further callers wait. */
    max?: number;
    /** Idle sessions are closed after this long. */
    idleMs?: number;
    timeoutMs?: number;
}

export class ImapPool {
    private readonly target: ImapTarget;
    private readonly idle = new Map<string, { client: ImapFlow; timer: NodeJS.Timeout }[]>();
    private readonly waiters: (() => void)[] = [];
    private open = 0;
    private closed = false;
    /** The last connect/login failure and when, for /readyz; cleared by the next good login. */
    lastError?: { message: string; at: number };

    constructor(
        target: ImapTarget,
        private readonly opts: ImapPoolOptions
    ) {
        this.target = requireMaster(target);
    }

    /** Runs fn on a session as `user`; a session that failed is dropped, not reused. */
    async with<T>(user: string, fn: (client: ImapFlow) => Promise<T>): Promise<T> {
        const client = await this.acquire(user);
        let ok = false;
        try {
            const out = await fn(client);
            ok = true;
            return out;
        } finally {
            this.release(user, client, ok);
        }
    }

    /** Sessions open, by state, for health and the imap sessions gauge. */
    stats(): { busy: number; idle: number } {
        let idle = 0;
        for (const list of this.idle.values()) idle += list.length;
        return { busy: this.open - idle, idle };
    }

    async close(): Promise<void> {
        this.closed = true;
        const all = [...this.idle.values()].flat();
        this.idle.clear();
        await Promise.all(all.map(({ client, timer }) => (clearTimeout(timer), this.drop(client))));
    }

    private async acquire(user: string): Promise<ImapFlow> {
        for (;;) {
            if (this.closed) throw new Error('IMAP pool closed');
            const ready = this.takeIdle(user);
            if (ready?.usable) return ready;
            if (ready)
                void this.drop(ready); // the server or network closed it while idle
            else if (this.open < (this.opts.max ?? IMAP_POOL_MAX)) break;
            else {
                // Full: close someone else's idle session, else wait for a release.
                const victim = this.takeIdle();
                if (victim) void this.drop(victim);
                else await new Promise<void>(resolve => this.waiters.push(resolve));
            }
        }
        this.open++;
        try {
            const client = await this.connect(user);
            this.lastError = undefined;
            return client;
        } catch (err) {
            imapLoginFailures.inc();
            this.lastError = { message: (err as Error & { responseText?: string }).responseText ?? (err as Error).message, at: Date.now() };
            this.open--;
            this.waiters.shift()?.();
            throw err;
        }
    }

    private release(user: string, client: ImapFlow, ok: boolean): void {
        if (!ok || !client.usable || this.closed) {
            void this.drop(client);
        } else {
            const timer = setTimeout(() => {
                const list = this.idle.get(user) ?? [];
                const i = list.findIndex(e => e.client === client);
                if (i < 0) return;
                list.splice(i, 1);
                if (!list.length) this.idle.delete(user);
                void this.drop(client);
            }, this.opts.idleMs ?? IMAP_IDLE_MS);
            timer.unref();
            this.idle.set(user, [...(this.idle.get(user) ?? []), { client, timer }]);
        }
        this.waiters.shift()?.();
    }

    /** An idle session of `user` (any user's when absent), taken out of the idle list. */
    private takeIdle(user?: string): ImapFlow | undefined {
        for (const [u, list] of user === undefined ? this.idle : [[user, this.idle.get(user) ?? []] as const]) {
            const e = list.pop();
            if (!list.length) this.idle.delete(u);
            if (e) {
                clearTimeout(e.timer);
                return e.client;
            }
        }
        return undefined;
    }

    /** Counts the session out of `open`; callers may not use it again. */
    private async drop(client: ImapFlow): Promise<void> {
        this.open--;
        if (client.usable) await client.logout().catch(() => client.close());
        else client.close();
    }

    private async connect(user: string): Promise<ImapFlow> {
        const t = this.target;
        const timeout = this.opts.timeoutMs ?? IMAP_TIMEOUT_MS;
        const client = new ImapFlow({
            host: t.host,
            port: t.port,
            secure: t.secure,
            auth: { user: `${user}${this.opts.separator ?? '*'}${t.master}`, pass: t.password },
            logger: false,
            connectionTimeout: timeout,
            greetingTimeout: timeout,
            socketTimeout: IMAP_SOCKET_TIMEOUT_MS,
            disableAutoIdle: true
        });
        // An 'error' event without a listener would crash the process; the failing call reports it.
        client.on('error', (err: Error) => this.opts.logger.debug({ err: err.message, user }, 'imap session error'));
        await client.connect();
        return client;
    }
}

/** The pool for --imap; a value it cannot use is a ConfigError naming the option (exit 64). */
export function createImapPool(target: ImapTarget, separator: string | undefined, logger: Logger): ImapPool {
    try {
        return new ImapPool(target, { logger, separator });
    } catch (err) {
        throw new ConfigError(`invalid option --imap: ${(err as Error).message}`);
    }
}
