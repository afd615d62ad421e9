// /v1/ws: the same stream over WebSocket, subprotocol `vmbridge.events.v1`. Each server message is
// one event's JSON (as on the bus). With `?since=` (or none needed) the client may also send one
// first message `{"since":N}` to replay from N, or `{}` for live only; with `?since=` in the URL
// the stream starts at once and client messages are ignored.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeEvent } from '../../wire/json.js';
import { HTTP_CLIENT_MAX_BUFFERED, HTTP_HEADERS_TIMEOUT_MS, HTTP_MAX_BODY } from '../../limits.js';
import { cursorOf, parseCursor, typesOf } from '../context.js';
import type { HttpDeps } from '../context.js';
import { StreamSession } from '../session.js';

export const WS_PROTOCOL = 'vmbridge.events.v1';

export function createWsServer(): WebSocketServer {
    return new WebSocketServer({
        noServer: true,
        maxPayload: HTTP_MAX_BODY,
        handleProtocols: offered => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false)
    });
}

export function upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, user: string, deps: HttpDeps): void {
    wss.handleUpgrade(req, socket, head, ws => {
        const given = url.searchParams.has('since');
        const begin = (since: number | undefined) => run(ws, user, since, typesOf(url), deps);
        if (given) return begin(cursorOf({ req, url }));
        // Wait for the client's first message (bounded), which says where to start.
        const timer = setTimeout(() => ws.close(1008, 'expected a first message'), HTTP_HEADERS_TIMEOUT_MS);
        ws.once('message', data => {
            clearTimeout(timer);
            let since: number | undefined;
            try {
                const m = JSON.parse(String(data)) as { since?: unknown };
                since = m.since === undefined ? undefined : parseCursor(m.since);
                if (m.since !== undefined && since === undefined) throw new Error('bad since');
            } catch {
                return ws.close(1008, 'expected {"since":N} or {}');
            }
            begin(since);
        });
        ws.once('close', () => clearTimeout(timer));
    });
}

function run(ws: WebSocket, user: string, since: number | undefined, types: ReadonlySet<string> | undefined, deps: HttpDeps): void {
    const session = new StreamSession({
        user,
        since,
        types,
        replay: deps.replay,
        pageSize: deps.replayMax,
        hub: deps.hub,
        transport: {
            send: ev => {
                ws.send(encodeEvent(ev));
                return ws.bufferedAmount <= HTTP_CLIENT_MAX_BUFFERED;
            },
            close: () => ws.close(1000)
        }
    });
    // ping keeps proxies from closing an idle stream, like the SSE comment line
    const beat = setInterval(() => ws.ping(), deps.heartbeatMs);
    beat.unref();
    ws.on('close', () => {
        clearInterval(beat);
        session.close();
    });
    ws.on('error', () => session.close());
    void session.start();
}
