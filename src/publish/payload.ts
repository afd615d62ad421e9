// What each kind of endpoint receives for an event. OpenChange sessions get the NDR notification
// (newmail only unless openchangeEvents, and only with Dovecot's uid: `<uid>.eml` is how
// OpenChange finds the message); vmbridge subscribers get the JSON v1 text of the types they want.
import type { VmEvent } from '../events/event.js';
import type { Endpoint } from '../resolve/resolver.js';
import { encodeEvent } from '../wire/json.js';
import { MAPI, encodeNotification } from '../wire/ndr.js';

export interface OpenChangeOptions {
    backend: string;
    separator: string;
    openchangeEvents: boolean;
}

const MAPI_FLAGS: Partial<Record<VmEvent['type'], number>> = {
    newmail: MAPI.NewMail,
    flag: MAPI.ObjectModified,
    move: MAPI.ObjectMoved,
    delete: MAPI.ObjectDeleted
};

/** A frame, 'skip' (not for this endpoint) or 'no_uid' (wanted but not addressable: counted). */
export function frameFor(ep: Endpoint, ev: VmEvent, oc: OpenChangeOptions): Buffer | 'skip' | 'no_uid' {
    if (ep.kind === 'vmbridge') return !ep.types || ep.types.includes(ev.type) ? Buffer.from(encodeEvent(ev)) : 'skip';
    const flags = MAPI_FLAGS[ev.type];
    if (flags === undefined || (ev.type !== 'newmail' && !oc.openchangeEvents)) return 'skip';
    if (ev.uid === undefined) return 'no_uid';
    return encodeNotification({ flags, backend: oc.backend, eml: `${ev.uid}.eml`, folder: ev.mailbox ?? 'INBOX', separator: oc.separator });
}
