// Decides a message's class from its header block (read from the stream by HeaderTap).
import type { MessageClass, VoicemailMeta } from '../events/event.js';
import { first, parseHeaders } from './headers.js';
import { GREETING_TYPES, isAsteriskVm, parseAsteriskVm } from './voicemail.js';

export interface Classification {
    class: MessageClass;
    messageId?: string;
    subject?: string;
    voicemail?: VoicemailMeta;
}

export function classify(header: Buffer): Classification {
    const h = parseHeaders(header);
    const base = { messageId: first(h, 'message-id'), subject: first(h, 'subject') };
    if (isAsteriskVm(h)) {
        const voicemail = parseAsteriskVm(h);
        const greeting = GREETING_TYPES.has((voicemail.messageType ?? '').toLowerCase());
        return { ...base, class: greeting ? 'greeting' : 'voicemail', voicemail };
    }
    return { ...base, class: 'email' };
}
