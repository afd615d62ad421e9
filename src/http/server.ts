// The client listener (`--http host:port`): apps read their own user's events here. Limits come
// before authentication (headers timeout, connections in total and per address, no request
// bodies), then Bearer/Basic (auth.ts), then a handler per route (handlers/). Plain HTTP unless
// --http-tls-cert/--http-tls-key are given; loopback unless told otherwise (docs/policy.md).
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { listenOn, type HostPort } from '../net/address.js';
import { loadTlsPair } from '../intake/tls.js';
import { HTTP_HEADERS_TIMEOUT_MS, HTTP_MAX_BODY, HTTP_MAX_CONNECTIONS, HTTP_MAX_CONNECTIONS_PER_IP, HTTP_MAX_HEADER_BYTES, HTTP_KEEPALIVE_MS } from '../limits.js';
import { HttpAuth, peerOf, type Principal } from './auth.js';
import { sendJson, type HttpDeps, type RequestContext } from './context.js';
import { events } from './handlers/events.js';
import { webhooksRoute } from './routes/webhooks.js';
import { mwi } from './handlers/mwi.js';
import { replay } from './handlers/replay.js';
import { isPage, page } from './handlers/page.js';
import { createWsServer, upgrade } from './handlers/ws.js';
import { httpAuth } from '../metrics.js';

export interface ClientServerOptions {
    listen: HostPort;
    tlsCert?: string;
    tlsKey?: string;
    auth: HttpAuth;
    deps: HttpDeps;
}

type Route = (ctx: RequestContext) => void | Promise<void>;
const ROUTES: Record<string, Route> = { '/v1/events': events, '/v1/mwi': mwi, '/v1/replay': replay };

export class ClientServer {
    private readonly server: http.Server;
    private readonly wss = createWsServer();
    private readonly perIp = new Map<string, number>();

    constructor(private readonly opts: ClientServerOptions) {
        const tls = opts.tlsCert && opts.tlsKey ? loadTlsPair(opts.tlsCert, opts.tlsKey) : undefined;
        const base = { headersTimeout: HTTP_HEADERS_TIMEOUT_MS, requestTimeout: 0, maxHeaderSize: HTTP_MAX_HEADER_BYTES };
        this.server = tls ? https.createServer({ ...base, ...tls }) : http.createServer(base);
        this.server.maxConnections = HTTP_MAX_CONNECTIONS;
        this.server.keepAliveTimeout = HTTP_KEEPALIVE_MS;
        this.server.on('connection', (s: Socket) => this.admit(s));
        this.server.on('request', (req, res) => void this.request(req, res));
        this.server.on('upgrade', (req, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head));
    }

    async listen(): Promise<AddressInfo> {
        return listenOn(this.server, this.opts.listen);
    }

    close(): Promise<void> {
        return new Promise(resolve => {
            for (const c of this.wss.clients) c.terminate();
            this.server.close(() => resolve());
            this.server.closeAllConnections();
        });
    }

    /** Per-address connection cap: streams stay open, so one address must not take them all. */
    private admit(s: Socket): void {
        const ip = s.remoteAddress ?? '';
        const n = (this.perIp.get(ip) ?? 0) + 1;
        if (n > HTTP_MAX_CONNECTIONS_PER_IP) return void s.destroy();
        this.perIp.set(ip, n);
        s.once('close', () => {
            const left = (this.perIp.get(ip) ?? 1) - 1;
            if (left > 0) this.perIp.set(ip, left);
            else this.perIp.delete(ip);
        });
    }

    private async request(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const url = new URL(req.url ?? '/', 'http://client');
        if (url.pathname === '/v1/webhooks' || url.pathname.startsWith('/v1/webhooks/')) return this.webhooks(req, res, url);
        if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
        if (Number(req.headers['content-length'] ?? 0) > HTTP_MAX_BODY || req.headers['transfer-encoding']) {
            res.setHeader('connection', 'close'); // the body is not read
            return sendJson(res, 413, { error: 'no request body expected' });
        }
        if (isPage(url.pathname)) return page(url.pathname, res);
        const route = ROUTES[url.pathname];
        if (!route) return sendJson(res, 404, { error: 'not found' });
        const who = await this.authorize(req, url);
        if (typeof who === 'number') return refuse(res, who, req);
        try {
            await route({ req, res, url, principal: who.principal, user: who.user, deps: this.opts.deps });
        } catch (err) {
            this.opts.deps.logger.warn({ err, path: url.pathname, user: who.user }, 'client request failed');
            if (!res.headersSent) sendJson(res, 503, { error: 'unavailable' });
            else res.end();
        }
    }

    /** The user's own webhooks (POST with a small JSON body, DELETE): routes/webhooks.ts bounds the body. */
    private async webhooks(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
        const who = await this.authorize(req, url);
        if (typeof who === 'number') return refuse(res, who, req);
        try {
            await webhooksRoute(req, res, who.user);
        } catch (err) {
            this.opts.deps.logger.warn({ err, path: url.pathname, user: who.user }, 'client request failed');
            if (!res.headersSent) sendJson(res, 503, { error: 'unavailable' });
            else res.end();
        }
    }

    private async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
        socket.on('error', () => undefined);
        const url = new URL(req.url ?? '/', 'http://client');
        if (url.pathname !== '/v1/ws') return void socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        const who = await this.authorize(req, url);
        if (typeof who === 'number') {
            const extra = who === 401 ? `www-authenticate: ${challenge(req)}\r\n` : '';
            return void socket.end(`HTTP/1.1 ${who} ${http.STATUS_CODES[who]}\r\n${extra}connection: close\r\ncontent-length: 0\r\n\r\n`);
        }
        upgrade(this.wss, req, socket, head, url, who.user, this.opts.deps);
    }

    /** The principal and whose events it reads, or the status of the refusal. */
    private async authorize(req: http.IncomingMessage, url: URL): Promise<{ principal: Principal; user: string } | number> {
        const a = await this.opts.auth.check(req.headers.authorization, peerOf(req));
        httpAuth.inc({
            result: a.ok ? (/^bearer/i.test(req.headers.authorization ?? '') ? 'token' : 'basic') : a.status === 429 ? 'limited' : a.status === 503 ? 'unavailable' : 'refused'
        });
        if (!a.ok) return a.status;
        const asked = url.searchParams.get('user');
        if (asked && asked !== a.principal.user && !a.principal.admin) return 403;
        return { principal: a.principal, user: asked || a.principal.user };
    }
}

/** The page asks with `x-vmbridge-page: 1` so a refusal does not pop up the browser's own dialog. */
function challenge(req: http.IncomingMessage): string {
    return req.headers['x-vmbridge-page'] ? 'Bearer realm="vmbridge"' : 'Basic realm="vmbridge", charset="UTF-8", Bearer realm="vmbridge"';
}

function refuse(res: http.ServerResponse, status: number, req: http.IncomingMessage): void {
    if (status === 401) res.setHeader('www-authenticate', challenge(req));
    if (status === 429) res.setHeader('retry-after', '6');
    sendJson(res, status, { error: http.STATUS_CODES[status]?.toLowerCase() ?? 'refused' });
}
