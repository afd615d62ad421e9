// GET /v1/events: Server-Sent Events. `id:` is the event's seq (so the browser's Last-Event-ID
// is the cursor), `event:` its type, `data:` the JSON event; a comment line every heartbeat.
import { encodeEvent } from '../../wire/json.js';
import { HTTP_CLIENT_MAX_BUFFERED } from '../../limits.js';
import { cursorOf, typesOf, type RequestContext } from '../context.js';
import { StreamSession } from '../session.js';

export function events(ctx: RequestContext): void {
    const { res, deps } = ctx;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(': vmbridge events v1\n\n');
    const beat = setInterval(() => res.write(': hb\n\n'), deps.heartbeatMs);
    beat.unref();
    const session = new StreamSession({
        user: ctx.user,
        since: cursorOf(ctx),
        types: typesOf(ctx.url),
        replay: deps.replay,
        pageSize: deps.replayMax,
        hub: deps.hub,
        transport: {
            send: ev => {
                res.write(`${ev.seq !== undefined ? `id: ${ev.seq}\n` : ''}event: ${ev.type}\ndata: ${encodeEvent(ev)}\n\n`);
                return res.writableLength <= HTTP_CLIENT_MAX_BUFFERED;
            },
            close: () => res.end()
        }
    });
    res.on('close', () => {
        clearInterval(beat);
        session.close();
    });
    void session.start();
}
