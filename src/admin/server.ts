// The admin listener (--admin host:port, off by default): GET /livez (the process answers),
// GET /readyz and /healthz (readiness with a JSON detail per dependency: readiness.ts) for load
// balancers and service managers, GET /metrics for Prometheus (the registry in metrics.ts). It carries no
// secrets and changes nothing, so it has no token; bind it to loopback or a management network.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { registry } from '../metrics.js';
import { listenOn, type HostPort } from '../net/address.js';
import { StatusSource } from './status.js';
import { STATUS_CSP, STATUS_CSS, STATUS_HTML, STATUS_JS } from './status-page.js';
import { ADMIN_REQUEST_TIMEOUT_MS, ADMIN_HEADERS_TIMEOUT_MS } from '../limits.js';

/** The status page's static parts: path → [content type, body]. */
const PAGE: Record<string, [string, string]> = {
    '/': ['text/html; charset=utf-8', STATUS_HTML],
    '/status.css': ['text/css; charset=utf-8', STATUS_CSS],
    '/status.js': ['text/javascript; charset=utf-8', STATUS_JS]
};

export interface Health {
    /** false → 503, so a balancer stops sending new work (e.g. while draining on SIGTERM). */
    ok: boolean;
    status: string;
    [detail: string]: unknown;
}

export interface AdminOptions {
    listen: HostPort;
    logger: Logger;
    health?: () => Health | Promise<Health>;
}

export class AdminServer {
    private readonly server: Server;
    private readonly status: StatusSource;

    constructor(private readonly opts: AdminOptions) {
        this.status = new StatusSource(async () => (await opts.health?.()) ?? { ok: true, status: 'ok' });
        this.server = createServer(
            (req, res) =>
                void this.handle(req, res).catch(err => {
                    opts.logger.error({ err }, 'admin request failed');
                    if (!res.headersSent) res.writeHead(500);
                    res.end();
                })
        );
        // requests are tiny; a client that holds a socket open gets dropped
        this.server.requestTimeout = ADMIN_REQUEST_TIMEOUT_MS;
        this.server.headersTimeout = ADMIN_HEADERS_TIMEOUT_MS;
    }

    listen(): Promise<AddressInfo> {
        this.status.start();
        return listenOn(this.server, this.opts.listen);
    }

    close(): Promise<void> {
        this.status.stop();
        this.server.closeAllConnections();
        return new Promise(resolve => this.server.close(() => resolve()));
    }

    private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
            res.writeHead(405, { allow: 'GET, HEAD' }).end();
            return;
        }
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/livez') {
            // answering at all is the proof: a wedged event loop never gets here
            res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
            res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ ok: true, status: 'alive', uptimeSeconds: Math.round(process.uptime()) }));
        } else if (path === '/healthz' || path === '/readyz') {
            const h = (await this.opts.health?.()) ?? { ok: true, status: 'ok' };
            res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
            res.end(req.method === 'HEAD' ? undefined : JSON.stringify(h));
        } else if (PAGE[path]) {
            const [type, body] = PAGE[path];
            res.writeHead(200, {
                'content-type': type,
                'content-security-policy': STATUS_CSP,
                'x-content-type-options': 'nosniff',
                'referrer-policy': 'no-referrer',
                'cache-control': 'no-cache'
            });
            res.end(req.method === 'HEAD' ? undefined : body);
        } else if (path === '/favicon.ico') {
            res.writeHead(204, { 'cache-control': 'max-age=86400' }).end(); // browsers ask; there is none
        } else if (path === '/status.json') {
            const body = JSON.stringify(await this.status.snapshot());
            res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
            res.end(req.method === 'HEAD' ? undefined : body);
        } else if (path === '/metrics') {
            const body = await registry.metrics();
            res.writeHead(200, { 'content-type': registry.contentType });
            res.end(req.method === 'HEAD' ? undefined : body);
        } else {
            res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        }
    }
}
