// What every handler of the client listener gets: the request, the authenticated principal and
// the bridge parts it may read. Handlers are one file per route (handlers/), as WildDuck's.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VmEvent } from '../events/event.js';
import type { Logger } from '../log.js';
import type { Principal } from './auth.js';
import type { StreamHub } from './hub.js';
import type { ReplayFn } from './session.js';

export interface HttpDeps {
    hub: StreamHub;
    replay: ReplayFn;
    /** The user's current mwi events (the MWI service's last counts); empty without MWI. */
    mwi: (user: string) => VmEvent[];
    /** Events per replay page / request. */
    replayMax: number;
    heartbeatMs: number;
    logger: Logger;
}

export interface RequestContext {
    req: IncomingMessage;
    res: ServerResponse;
    url: URL;
    principal: Principal;
    /** Whose events: the principal's own, or ?user= for an admin token. */
    user: string;
    deps: HttpDeps;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body) + '\n');
}

/** `?since=` or the Last-Event-ID header (the SSE reconnect); undefined when neither or bad. */
export function cursorOf(ctx: Pick<RequestContext, 'req' | 'url'>): number | undefined {
    const v = ctx.url.searchParams.get('since') ?? (ctx.req.headers['last-event-id'] as string | undefined);
    return parseCursor(v);
}

export function parseCursor(v: unknown): number | undefined {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,16}$/.test(v.trim()) ? Number(v) : NaN;
    return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** `?types=newmail,mwi` → a set, or undefined for all. */
export function typesOf(url: URL): ReadonlySet<string> | undefined {
    const t = url.searchParams.get('types');
    return t
        ? new Set(
              t
                  .split(',')
                  .map(s => s.trim())
                  .filter(Boolean)
          )
        : undefined;
}
