// What each kind of endpoint receives for an event. OpenChange sessions get the NDR NewMail
// notification — the only one OpenChange acts on (dcesrv_asyncemsmdb.c handles NewMail and logs
// "Unsupported notification" for every other flag; mapistore_notification.idl gives no other
// kind a body) — and only with Dovecot's uid (`<uid>.eml` is how OpenChange finds the message),
// with folder and separator as its Dovecot plugin takes them from Dovecot (folders.ts).
// vmbridge subscribers get the JSON v1 text of the types they want.
import type { NewmailEvent, VmEvent } from '../events/event.js';
import type { Endpoint } from '../resolve/resolver.js';
import { encodeSequenced } from '../wire/json.js';
import { MAPI, encodeNotification } from '../wire/ndr.js';
import type { FolderName } from './folders.js';

export interface OpenChangeOptions {
    backend: string;
}

/** Whether an event becomes an OpenChange payload at all. */
export function forOpenChange(ev: VmEvent): ev is NewmailEvent {
    return ev.type === 'newmail';
}

/** A frame, 'skip' (not for this endpoint) or 'no_uid' (wanted but not addressable: counted). */
export function frameFor(ep: Endpoint, ev: VmEvent, oc: OpenChangeOptions, folder: FolderName): Buffer | 'skip' | 'no_uid' {
    if (ep.kind === 'vmbridge') return !ep.types || ep.types.includes(ev.type) ? Buffer.from(encodeSequenced(ev)) : 'skip';
    if (!forOpenChange(ev)) return 'skip';
    if (ev.uid === undefined) return 'no_uid';
    return encodeNotification({ flags: MAPI.NewMail, backend: oc.backend, eml: `${ev.uid}.eml`, folder: folder.folder, separator: folder.separator });
}
