// GET /v1/mwi: the user's voicemail counts per box, as the MWI service last counted them.
import { sendJson, type RequestContext } from '../context.js';

export function mwi(ctx: RequestContext): void {
    const boxes = ctx.deps.mwi(ctx.user).flatMap(ev => (ev.type === 'mwi' ? [ev.mwi] : []));
    sendJson(ctx.res, 200, { user: ctx.user, boxes });
}
