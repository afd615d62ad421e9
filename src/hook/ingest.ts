// The endpoint Dovecot's hook reaches (dovecot/vmbridge.lua), on --ingest host:port or
// unix:/path. One listener, two transports told apart by the first byte: the hook's stream
// ('{', hook/stream.ts: no reply, Dovecot never waits) and HTTP POST (Dovecot waits for the
// reply, so it answers as soon as a batch is validated and queued; normalisation runs after).
// The hook proves the token with a MAC and never sends it (hook/auth.ts); loopback-only unless
// --ingest-access says otherwise (a unix socket is reachable as its directory's permissions
// allow); per-source rate limit; bodies over --ingest-max-body get 413. Before a connection has
// proved the key it is limited (hook/limits.ts): a few seconds, a 1 KB hello, a cap on such
// connections in total and per peer, and a budget for unverified POST bodies.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { AccessList, isLoopback } from '../net/access.js';
import { RateLimiter } from '../net/ratelimit.js';
import { listenOn, type ListenAddress } from '../net/address.js';
import type { Logger } from '../log.js';
import { ingestBatches } from '../metrics.js';
import type { Batch } from './batch.js';
import { validateBatch } from './validate.js';
import { HookAuth } from './auth.js';
import { ConnectionLimits, DEFAULT_INGEST_LIMITS, type IngestLimits } from './limits.js';
import { listenerCap } from '../net/fd-budget.js';
import { readStream } from './stream.js';
import { isProbe } from './probe.js';
import { INGEST_BATCH_RATE, INGEST_KEEPALIVE_MS } from '../limits.js';

export interface IngestOptions {
    listen: ListenAddress;
    token: string;
    maxBody: number;
    access?: string | readonly string[];
    logger: Logger;
    /** Gets each valid batch, after the reply went out. */
    onBatch(batch: Batch): void;
    /** A stream batch of this user's was cut short or refused: its state needs a recount. */
    onLost?(user: string): void;
    /** The hook proved the key (a stream hello or a verified POST); `shared`: a stream hello
     * without user, the native driver's connection shared by a Dovecot process's users. */
    onHello?(shared: boolean): void;
    /** A proved stream connection closed: the Lua state `proc` is done with it. */
    onStreamEnd?(proc: string): void;
    rate?: { perSecond: number; burst: number };
    limits?: Partial<IngestLimits>;
}

export class IngestServer {
    private readonly front: net.Server;
    private readonly server: http.Server;
    private readonly auth: HookAuth;
    private readonly access?: AccessList;
    private readonly limiter: RateLimiter;
    private readonly limits: ConnectionLimits;

    constructor(private readonly opts: IngestOptions) {
        this.auth = new HookAuth(opts.token);
        this.limits = new ConnectionLimits(opts.limits);
        this.access = opts.access ? new AccessList(opts.access) : undefined;
        this.limiter = new RateLimiter(opts.rate ?? INGEST_BATCH_RATE);
        this.server = http.createServer((req, res) => this.handle(req, res));
        this.server.keepAliveTimeout = INGEST_KEEPALIVE_MS; // Dovecot's http-client reuses connections
        this.front = net.createServer(sock => this.sniff(sock));
        // The ingest's share of the process's file descriptors (net/fd-budget.ts): idle hook
        // connections never starve the MTA's LMTP connections.
        this.front.maxConnections = listenerCap(opts.limits?.maxConnections ?? DEFAULT_INGEST_LIMITS.maxConnections);
    }

    /** Resolves with the address as printed: host:port or unix:/absolute/path. */
    async listen(): Promise<string> {
        const listen = this.opts.listen;
        if (listen.path === undefined) {
            const a = await listenOn(this.front, listen);
            return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
        }
        const file = path.resolve(listen.path);
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
        if (lstatSync(file, { throwIfNoEntry: false })?.isSocket()) unlinkSync(file); // left by a crash
        await new Promise<void>((resolve, reject) => {
            this.front.once('error', reject);
            this.front.listen(file, () => {
                this.front.off('error', reject);
                resolve();
            });
        });
        // Dovecot's mail processes run as the mail uid; the token authenticates, the directory
        // (not /tmp: Debian's dovecot.service has PrivateTmp) decides who can reach the socket.
        chmodSync(file, 0o666);
        return `unix:${file}`;
    }

    close(): Promise<void> {
        return new Promise(resolve => {
            this.front.close(() => resolve());
            for (const s of this.sockets) s.destroy();
        });
    }

    /** Every connection, HTTP keep-alive ones too: the http server never listened, so it tracks none. */
    private readonly sockets = new Set<net.Socket>();

    private sniff(sock: net.Socket): void {
        if (!this.limits.admit(sock, this.sockets.size)) return void sock.destroy();
        this.sockets.add(sock);
        sock.on('close', () => this.sockets.delete(sock));
        if (sock.remoteAddress) sock.setNoDelay(true); // the 204 goes out at once (Dovecot sets it too)
        sock.once('data', (first: Buffer) => {
            if (first[0] !== 0x7b /* { */) {
                sock.pause();
                sock.unshift(first);
                this.server.emit('connection', sock);
                return void process.nextTick(() => sock.resume());
            }
            const peer = sock.remoteAddress ?? 'unix';
            if (sock.remoteAddress !== undefined && !this.allowed(peer)) {
                ingestBatches.inc({ result: 'forbidden' });
                return void sock.destroy();
            }
            readStream(sock, first, {
                maxLine: this.opts.maxBody,
                auth: this.auth,
                onHello: shared => {
                    this.limits.proved(sock);
                    this.opts.onHello?.(shared);
                },
                admit: () => this.limiter.take(peer),
                onBatch: batch => this.deliver(batch),
                onLost: user => this.opts.onLost?.(user),
                onEnd: proc => this.opts.onStreamEnd?.(proc)
            });
        });
        sock.on('error', () => undefined);
    }

    private allowed(peer: string): boolean {
        return this.access ? this.access.match(peer)?.verdict === 'allow' : isLoopback(peer);
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const peer = req.socket.remoteAddress ?? '';
        const answer = (code: number, result?: string, headers: http.OutgoingHttpHeaders = {}) => {
            if (result) ingestBatches.inc({ result });
            if (!res.headersSent) res.writeHead(code, { 'content-length': 0, ...headers }).end();
        };
        if (req.socket.remoteAddress !== undefined && !this.allowed(peer)) return answer(403, 'forbidden');
        if (req.method !== 'POST') return answer(405, undefined, { allow: 'POST' });
        const mac = req.headers['x-vmbridge-mac'];
        if (typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) return answer(401, 'unauthorized');
        if (!this.limiter.take(peer)) return answer(429, 'rate_limited', { 'retry-after': String(this.limiter.retryAfter(peer)) });
        if (Number(req.headers['content-length'] ?? 0) > this.opts.maxBody) {
            answer(413, 'too_large', { connection: 'close' });
            return void req.destroy();
        }
        // The MAC covers the body, so the body is read before it is verified: unverified bytes
        // held at once, all connections together, are capped.
        const chunks: Buffer[] = [];
        let size = 0;
        const release = () => {
            this.limits.releaseBody(size);
            size = 0;
        };
        req.on('data', (c: Buffer) => {
            if (size + c.length > this.opts.maxBody) {
                release();
                answer(413, 'too_large', { connection: 'close' });
                return void req.destroy();
            }
            if (!this.limits.takeBody(c.length)) {
                release();
                answer(503, 'busy', { connection: 'close', 'retry-after': '1' });
                return void req.destroy();
            }
            size += c.length;
            chunks.push(c);
        });
        // After the MAC: a probe is answered, anything else proves the hook is installed.
        const accept = (batch: Batch | undefined) => {
            const probe = batch !== undefined && isProbe(batch); // vmbridge doctor (hook/probe.ts): answered, nothing else
            if (!probe) this.opts.onHello?.(false);
            if (!batch) return answer(400, 'invalid');
            if (!this.auth.fresh(batch.ts, mac)) return answer(401, 'stale');
            answer(204, probe ? 'probe' : 'accepted');
            if (probe) return;
            setImmediate(() => this.deliver(batch));
        };
        req.on('end', () => {
            const body = Buffer.concat(chunks);
            release();
            if (!this.auth.verify(body, mac)) return answer(401, 'unauthorized');
            this.limits.proved(req.socket);
            const parsed = parse(body);
            if (parsed instanceof Promise) void parsed.then(accept);
            else accept(parsed);
        });
        req.on('error', release);
        req.on('close', release);
    }

    private deliver(batch: Batch): void {
        try {
            this.opts.onBatch(batch);
        } catch (err) {
            this.opts.logger.error({ err, user: batch.user }, 'ingest batch handling failed');
        }
    }
}

/** A large batch is validated in slices (hook/validate.ts): then the answer waits for the last one. */
function parse(body: Buffer): Batch | undefined | Promise<Batch | undefined> {
    let raw: unknown;
    try {
        raw = JSON.parse(body.toString('utf8'));
    } catch {
        return undefined;
    }
    return validateBatch(raw);
}
