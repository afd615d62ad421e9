// The bridge's replay endpoint for bus listeners (`listen --since`), which cannot read an
// in-process journal themselves: `GET /replay?user=<u>&since=<seq>` answers NDJSON, one event
// per line (the events after the cursor, or a reset and the current mwi counts). Plain HTTP on
// loopback by default, like the bus: it serves the same events the bus already publishes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { listenOn } from '../net.js';
import type { VmEvent } from '../events/event.js';
import type { Logger } from '../log.js';
import { encodeEvent } from '../wire/json.js';

export const ReplayQuery = z.object({
    user: z.string().min(1).max(512),
    since: z.coerce.number().int().nonnegative()
});

export type ReplayFn = (user: string, since: number) => Promise<VmEvent[]>;

export class ReplayServer {
    private readonly server: http.Server;

    constructor(private readonly listenOn: string, replay: ReplayFn, private readonly log?: Logger) {
        this.server = http.createServer((req, res) => {
            const url = new URL(req.url ?? '/', 'http://replay');
            if (req.method !== 'GET' || url.pathname !== '/replay') return end(res, 404, 'not found');
            const q = ReplayQuery.safeParse(Object.fromEntries(url.searchParams));
            if (!q.success) return end(res, 400, `bad query: ${q.error.issues[0].path.join('.')} ${q.error.issues[0].message}`);
            replay(q.data.user, q.data.since).then(
                events => {
                    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
                    res.end(events.map(ev => encodeEvent(ev) + '\n').join(''));
                },
                err => {
                    this.log?.warn({ err, user: q.data.user }, 'replay failed');
                    end(res, 503, 'journal unavailable');
                }
            );
        });
    }

    /** Binds host:port; rejects when it cannot. */
    listen(): Promise<AddressInfo> {
        return listenOn(this.server, this.listenOn);
    }

    close(): Promise<void> {
        return new Promise(resolve => {
            this.server.close(() => resolve());
            this.server.closeAllConnections();
        });
    }
}

function end(res: http.ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(text + '\n');
}
