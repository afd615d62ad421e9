// The endpoint Dovecot's hook posts to (dovecot/vmbridge.lua). Dovecot waits for the reply, so
// it answers as soon as a batch is validated and queued; normalisation runs after. Token
// compared in constant time; loopback-only unless --ingest-access says otherwise; per-source
// rate limit; bodies over --ingest-max-body get 413.
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessList, isLoopback } from '../intake/access.js';
import { RateLimiter } from '../intake/ratelimit.js';
import { listenOn } from '../net.js';
import type { Logger } from '../log.js';
import { ingestBatches } from '../metrics.js';
import { BatchSchema, type Batch } from './dovecot/batch.js';

export interface IngestOptions {
    listen: string;
    token: string;
    maxBody: number;
    access?: string | readonly string[];
    logger: Logger;
    /** Gets each valid batch, after the reply went out. */
    onBatch(batch: Batch): void;
    rate?: { perSecond: number; burst: number };
}

export class IngestServer {
    private readonly server: http.Server;
    private readonly token: Buffer;
    private readonly access?: AccessList;
    private readonly limiter: RateLimiter;

    constructor(private readonly opts: IngestOptions) {
        this.token = Buffer.from(opts.token);
        this.access = opts.access ? new AccessList(opts.access) : undefined;
        this.limiter = new RateLimiter(opts.rate ?? { perSecond: 5000, burst: 10000 });
        this.server = http.createServer((req, res) => this.handle(req, res));
        this.server.keepAliveTimeout = 60_000; // Dovecot's http-client reuses connections
    }

    listen(): Promise<AddressInfo> {
        return listenOn(this.server, this.opts.listen);
    }

    close(): Promise<void> {
        return new Promise(resolve => {
            this.server.close(() => resolve());
            this.server.closeAllConnections();
        });
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const peer = req.socket.remoteAddress ?? '';
        const answer = (code: number, result?: string, headers: http.OutgoingHttpHeaders = {}) => {
            if (result) ingestBatches.inc({ result });
            res.writeHead(code, { 'content-length': 0, ...headers }).end();
        };
        if (!(this.access ? this.access.match(peer)?.verdict === 'allow' : isLoopback(peer))) return answer(403, 'forbidden');
        if (req.method !== 'POST') return answer(405, undefined, { allow: 'POST' });
        if (!this.authorized(req.headers['x-vmbridge-token'])) return answer(401, 'unauthorized');
        if (!this.limiter.take(peer)) return answer(429, 'rate_limited', { 'retry-after': String(this.limiter.retryAfter(peer)) });
        if (Number(req.headers['content-length'] ?? 0) > this.opts.maxBody) {
            answer(413, 'too_large', { connection: 'close' });
            return void req.destroy();
        }
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => {
            size += c.length;
            if (size > this.opts.maxBody) {
                answer(413, 'too_large', { connection: 'close' });
                req.destroy();
            } else chunks.push(c);
        });
        req.on('end', () => {
            const batch = parse(Buffer.concat(chunks));
            if (!batch) return answer(400, 'invalid');
            answer(204, 'accepted');
            setImmediate(() => this.deliver(batch));
        });
        req.on('error', () => undefined);
    }

    private deliver(batch: Batch): void {
        try {
            this.opts.onBatch(batch);
        } catch (err) {
            this.opts.logger.error({ err, user: batch.user }, 'ingest batch handling failed');
        }
    }

    private authorized(header: string | string[] | undefined): boolean {
        if (typeof header !== 'string') return false;
        const given = Buffer.from(header);
        return given.length === this.token.length && timingSafeEqual(given, this.token);
    }
}

function parse(body: Buffer): Batch | undefined {
    let raw: unknown;
    try {
        raw = JSON.parse(body.toString('utf8'));
    } catch {
        return undefined;
    }
    const r = BatchSchema.safeParse(raw);
    return r.success ? r.data : undefined;
}
