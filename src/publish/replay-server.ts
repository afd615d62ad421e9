// The bridge's replay endpoint for bus listeners (`listen --since`), which cannot read an
// in-process journal themselves: `GET /replay?user=<u>&since=<seq>[&limit=<n>]` answers NDJSON,
// one event per line (the events after the cursor, or a reset and the current mwi counts). Off
// unless `--replay` is given. It reveals every user's events (caller IDs), so like ingest it is
// access-listed (loopback only by default) and authenticated (`Authorization: Bearer <token>`,
// compared in constant time), and bounded: at most `maxEvents` per request (`x-vmbridge-more: 1`
// says the client should ask again from the last seq), header and request timeouts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import { z } from 'zod';
import { listenOn, type HostPort } from '../net/address.js';
import type { VmEvent } from '../events/event.js';
import { AccessList, isLoopback } from '../net/access.js';
import type { Logger } from '../log.js';
import { encodeEvent } from '../wire/json.js';
import { REPLAY_TIMEOUT_MS, REPLAY_MAX_CONNECTIONS, HTTP_KEEPALIVE_MS } from '../limits.js';
import { DEFAULTS } from '../config.js';

export const ReplayQuery = z.object({
    user: z.string().min(1).max(512),
    since: z.coerce.number().int().nonnegative(),
    limit: z.coerce.number().int().positive().optional()
});

export type ReplayFn = (user: string, since: number, limit: number) => Promise<VmEvent[]>;

export interface ReplayServerOptions {
    listen: HostPort;
    token: string;
    access?: string | readonly string[];
    /** Events per request at most (default 1000). */
    maxEvents?: number;
    logger?: Logger;
}

export class ReplayServer {
    private readonly server: http.Server;
    private readonly token: Buffer;
    private readonly access?: AccessList;

    constructor(
        private readonly opts: ReplayServerOptions,
        replay: ReplayFn
    ) {
        this.token = digest(opts.token);
        this.access = opts.access ? new AccessList(opts.access) : undefined;
        const max = opts.maxEvents ?? DEFAULTS.replayMax;
        this.server = http.createServer({ headersTimeout: REPLAY_TIMEOUT_MS, requestTimeout: REPLAY_TIMEOUT_MS }, (req, res) => {
            const peer = req.socket.remoteAddress ?? '';
            if (!(this.access ? this.access.match(peer)?.verdict === 'allow' : isLoopback(peer))) return end(res, 403, 'forbidden');
            if (!this.authorized(req.headers.authorization)) return end(res, 401, 'unauthorized');
            const url = new URL(req.url ?? '/', 'http://replay');
            if (req.method !== 'GET' || url.pathname !== '/replay') return end(res, 404, 'not found');
            const q = ReplayQuery.safeParse(Object.fromEntries(url.searchParams));
            if (!q.success) return end(res, 400, `bad query: ${q.error.issues[0].path.join('.')} ${q.error.issues[0].message}`);
            const limit = Math.min(q.data.limit ?? max, max);
            replay(q.data.user, q.data.since, limit).then(
                events => {
                    const more = events.filter(ev => ev.type !== 'reset').length >= limit;
                    res.writeHead(200, { 'content-type': 'application/x-ndjson', ...(more ? { 'x-vmbridge-more': '1' } : {}) });
                    res.end(events.map(ev => encodeEvent(ev) + '\n').join(''));
                },
                err => {
                    this.opts.logger?.warn({ err, user: q.data.user }, 'replay failed');
                    end(res, 503, 'journal unavailable');
                }
            );
        });
        this.server.maxConnections = REPLAY_MAX_CONNECTIONS;
        this.server.keepAliveTimeout = HTTP_KEEPALIVE_MS;
    }

    /** Binds host:port; rejects when it cannot. */
    async listen(): Promise<AddressInfo> {
        const a = await listenOn(this.server, this.opts.listen);
        if (!this.opts.access && !isLoopback(a.address)) {
            this.opts.logger?.warn({ replay: this.opts.listen }, 'replay listens beyond loopback but only loopback peers are allowed: set --replay-access');
        }
        return a;
    }

    close(): Promise<void> {
        return new Promise(resolve => {
            this.server.close(() => resolve());
            this.server.closeAllConnections();
        });
    }

    private authorized(header: string | undefined): boolean {
        const m = /^Bearer (.+)$/.exec(header ?? '');
        // Hashes have equal length, so the comparison is constant-time whatever was sent.
        return !!m && timingSafeEqual(digest(m[1]), this.token);
    }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function end(res: http.ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(text + '\n');
}
