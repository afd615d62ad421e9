// A bounded pool of open LMTP connections: LHLO once per connection, reused across transactions
// (Dovecot takes the next MAIL after a finished DATA or RSET), closed after idling, and discarded
// when broken. A fresh connection per message costs about half the throughput (facts-dovecot.md).
import { LinkError, LmtpConnection, type LmtpAddress } from './lmtp-connection.js';

export interface PoolOptions {
    /** Connections open at once, busy or idle. */
    max: number;
    /** Idle connections are closed after this long; 0 closes each one after its transaction. */
    idleMs: number;
    /** Per phase: connect, greeting, LHLO, each reply; and the wait for a free connection. */
    timeoutMs: number;
}

interface Waiter {
    resolve(c: LmtpConnection): void;
    reject(err: Error): void;
    timer: NodeJS.Timeout;
}

export class LmtpPool {
    /** Connections opened so far (one LHLO each): lets tests and operators see reuse. */
    opened = 0;
    private readonly idle = new Map<LmtpConnection, NodeJS.Timeout>();
    private readonly busy = new Set<LmtpConnection>();
    private opening = 0;
    private readonly queue: Waiter[] = [];
    private closed = false;

    constructor(
        private readonly addr: LmtpAddress,
        private readonly opts: PoolOptions
    ) {}

    get size(): { idle: number; busy: number } {
        return { idle: this.idle.size, busy: this.busy.size };
    }

    acquire(): Promise<LmtpConnection> {
        if (this.closed) return Promise.reject(new LinkError('deliverer closed', '4.3.2'));
        const conn = this.takeIdle();
        if (conn) return Promise.resolve(conn);
        if (this.busy.size + this.opening < this.opts.max) return this.open();
        return new Promise((resolve, reject) => {
            const w: Waiter = {
                resolve,
                reject,
                timer: setTimeout(() => {
                    this.queue.splice(this.queue.indexOf(w), 1);
                    reject(new LinkError(`no free LMTP connection within ${this.opts.timeoutMs} ms`, '4.4.5'));
                }, this.opts.timeoutMs)
            };
            this.queue.push(w);
        });
    }

    /** Gives a connection back; only a connection between transactions may be reused. */
    release(conn: LmtpConnection, reusable: boolean): void {
        if (!this.busy.delete(conn)) return;
        if (!reusable || !conn.alive || this.closed || this.opts.idleMs <= 0) {
            conn.alive ? conn.quit() : conn.destroy();
        } else {
            conn.setIdle(true);
            const timer = setTimeout(() => {
                this.idle.delete(conn);
                conn.quit();
            }, this.opts.idleMs);
            timer.unref();
            this.idle.set(conn, timer);
        }
        this.serveQueue();
    }

    async close(): Promise<void> {
        this.closed = true;
        for (const w of this.queue.splice(0)) {
            clearTimeout(w.timer);
            w.reject(new LinkError('deliverer closed', '4.3.2'));
        }
        for (const [conn, timer] of this.idle) {
            clearTimeout(timer);
            conn.quit();
        }
        this.idle.clear();
    }

    private takeIdle(): LmtpConnection | undefined {
        // newest first: the most recently used connection is the least likely to have timed out
        for (const [conn, timer] of [...this.idle].reverse()) {
            clearTimeout(timer);
            this.idle.delete(conn);
            if (!conn.alive) continue;
            conn.reused = true;
            conn.setIdle(false);
            this.busy.add(conn);
            return conn;
        }
        return undefined;
    }

    private async open(): Promise<LmtpConnection> {
        this.opening++;
        try {
            const conn = await LmtpConnection.open(this.addr, this.opts.timeoutMs);
            this.opened++;
            // a server that hangs up on an idle connection (restart, its idle timeout) is forgotten
            conn.onClose(() => {
                const timer = this.idle.get(conn);
                if (timer) clearTimeout(timer);
                this.idle.delete(conn);
            });
            this.busy.add(conn);
            return conn;
        } finally {
            this.opening--;
            this.serveQueue(); // a failed open frees a slot for a waiter
        }
    }

    private serveQueue(): void {
        while (this.queue.length > 0) {
            const conn = this.takeIdle();
            if (!conn && this.busy.size + this.opening >= this.opts.max) return;
            const w = this.queue.shift()!;
            clearTimeout(w.timer);
            if (conn) w.resolve(conn);
            else this.open().then(w.resolve, w.reject);
        }
    }
}
