// GET /v1/replay?since=<seq>[&limit=<n>]: the user's events after the cursor as NDJSON, paged like
// --replay's endpoint (`x-vmbridge-more: 1`: ask again from the last seq), for the caller's own user.
import { encodeEvent } from '../../wire/json.js';
import { parseCursor, sendJson, type RequestContext } from '../context.js';

export async function replay(ctx: RequestContext): Promise<void> {
    const { url, res, deps } = ctx;
    const since = parseCursor(url.searchParams.get('since'));
    const asked = parseCursor(url.searchParams.get('limit'));
    if (since === undefined || asked === 0) return sendJson(res, 400, { error: 'since (and limit) must be non-negative integers' });
    const limit = Math.min(asked ?? deps.replayMax, deps.replayMax);
    const events = await deps.replay(ctx.user, since, limit);
    const more = events.filter(ev => ev.type !== 'reset').length >= limit;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', ...(more ? { 'x-vmbridge-more': '1' } : {}) });
    res.end(events.map(ev => encodeEvent(ev) + '\n').join(''));
}
