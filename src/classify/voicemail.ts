// Asterisk IMAP-storage voicemail: the X-Asterisk-VM-* headers app_voicemail writes.
import type { VoicemailMeta } from '../events/event.js';
import { first, type HeaderMap } from './headers.js';

export const GREETING_TYPES = new Set(['unavail', 'busy', 'greet', 'temp']);

export function isAsteriskVm(h: HeaderMap): boolean {
    for (const name of h.keys()) if (name.startsWith('x-asterisk-vm-')) return true;
    return false;
}

export function parseAsteriskVm(h: HeaderMap): VoicemailMeta {
    const get = (n: string) => {
        const v = first(h, `x-asterisk-vm-${n}`);
        return v === undefined || v === '' ? undefined : v;
    };
    const int = (n: string) => {
        const v = get(n);
        return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
    };
    const flag = first(h, 'x-asterisk-vm-flag');
    const meta: VoicemailMeta = {
        mailbox: get('extension'),
        context: get('context'),
        callerIdNum: get('caller-id-num'),
        callerIdName: get('caller-id-name'),
        durationSec: int('duration'),
        urgent: flag === undefined ? undefined : /^(urgent|priority)$/i.test(flag.trim()),
        msgNum: int('message-num'),
        origTime: int('orig-time'),
        messageType: get('message-type'),
        serverName: get('server-name'),
        vmMessageId: get('message-id') === '(null)' ? undefined : get('message-id'),
        format: 'asterisk'
    };
    for (const k of Object.keys(meta) as (keyof VoicemailMeta)[]) if (meta[k] === undefined) delete meta[k];
    return meta;
}
