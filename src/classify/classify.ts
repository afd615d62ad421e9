// Decides a message's class in two steps. The hot path reads the header block only (HeaderTap
// stops capturing at the blank line); for the classes whose answer is in the body — voicemail
// audio, fax attachments on otherwise plain mail — the tap's MIME scan adds the leaf parts.
import type { MessageClass, VoicemailMeta } from '../events/event.js';
import { isFaxByHeaders, isFaxPart } from './fax.js';
import { isGreeting } from './greeting.js';
import { contentType, first, parseHeaders, type HeaderMap } from './headers.js';
import type { PartInfo } from './mime-scan.js';
import { isReceipt } from './receipt.js';
import { announcedVoicemail, asteriskStorage, otherVoicemail, withAudio } from './voicemail.js';

export interface Classification {
    class: MessageClass;
    messageId?: string;
    subject?: string;
    voicemail?: VoicemailMeta;
}

/** Classifies from the header block, refined by the body's parts when the tap scanned them. */
export function classify(header: Buffer, parts: PartInfo[] = []): Classification {
    const h = parseHeaders(header);
    const c = byHeaders(h);
    if (c.voicemail && parts.length) c.voicemail = withAudio(c.voicemail, parts);
    if (c.class === 'email' && parts.some(isFaxPart)) c.class = 'fax';
    const messageId = first(h, 'message-id')?.trim();
    const subject = first(h, 'subject');
    return { ...c, ...(messageId ? { messageId } : {}), ...(subject ? { subject } : {}) };
}

/** The top-level boundary when the body's parts could change the answer, else undefined (stop at the header). */
export function scanBoundary(header: Buffer): string | undefined {
    const h = parseHeaders(header);
    const ct = contentType(h);
    if (!/^multipart\//i.test(ct.value) || !ct.params.boundary) return undefined;
    const c = byHeaders(h);
    return c.voicemail || c.class === 'email' ? ct.params.boundary : undefined;
}

function byHeaders(h: HeaderMap): { class: MessageClass; voicemail?: VoicemailMeta } {
    if (isReceipt(h)) return { class: 'receipt' };
    const stored = asteriskStorage(h);
    if (stored) return { class: isGreeting(stored) ? 'greeting' : 'voicemail', voicemail: stored };
    if (isFaxByHeaders(h)) return { class: 'fax' };
    // a mail announcing a voicemail is not a second voicemail: it keeps the metadata, not the class
    const announced = announcedVoicemail(h);
    if (announced) return { class: 'notification', voicemail: announced };
    const voicemail = otherVoicemail(h);
    return voicemail ? { class: 'voicemail', voicemail } : { class: 'email' };
}
