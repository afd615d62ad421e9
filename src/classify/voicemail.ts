// Voicemail in the formats voice-messaging systems write. Each format reports only the fields its
// headers carry: a field a format lacks stays absent rather than guessed (e.g. from a Subject).
import type { VoicemailMeta } from '../events/event.js';
import { contentType, first, type HeaderMap } from './headers.js';
import type { PartInfo } from './mime-scan.js';

type Format = (h: HeaderMap) => VoicemailMeta | undefined;

/** Asterisk IMAP storage (app_voicemail IMAP_STORAGE): the X-Asterisk-VM-* headers on the stored copy. */
const asterisk: Format = h => {
    if (![...h.keys()].some(n => n.startsWith('x-asterisk-vm-'))) return undefined;
    const get = (n: string) => value(h, `x-asterisk-vm-${n}`);
    const flag = first(h, 'x-asterisk-vm-flag');
    const vmId = get('message-id');
    return {
        format: 'asterisk',
        mailbox: get('extension'),
        context: get('context'),
        callerIdNum: get('caller-id-num'),
        callerIdName: get('caller-id-name'),
        durationSec: seconds(get('duration')),
        // "" normally, "Urgent" (older builds: "PRIORITY"); absent header → unknown
        urgent: flag === undefined ? undefined : /^(urgent|priority)$/i.test(flag.trim()),
        msgNum: integer(get('message-num')),
        origTime: integer(get('orig-time')),
        messageType: get('message-type'),
        serverName: get('server-name'),
        vmMessageId: vmId === '(null)' ? undefined : vmId // greetings carry the literal "(null)"
    };
};

// make_email's Message-ID is <Asterisk-msgnum-rand-mailbox-pid@host> (older builds: no rand), with
// the 0-based message number (as the msg0000 attachment names) of the voicemail it announces.
const ASTERISK_MESSAGE_ID = /^<Asterisk-(\d+)-(?:\d+-)?(.+)-\d+@[^>]*>$/;

/**
 * Asterisk notification e-mail (mailcmd mails with or without attachment, pager mails): it
 * announces a voicemail stored elsewhere (IMAP storage or the spool), so its class is
 * `notification`, never `voicemail`. It carries caller id headers (when there was one) and the
 * Message-ID naming box and message number; no context.
 */
const asteriskNotify: Format = h => {
    const callerIdNum = value(h, 'x-asterisk-callerid');
    const callerIdName = value(h, 'x-asterisk-calleridname');
    const id = ASTERISK_MESSAGE_ID.exec((first(h, 'message-id') ?? '').trim());
    if (!callerIdNum && !callerIdName && !id) return undefined;
    const msgNum = id ? Number(id[1]) + 1 : undefined; // X-Asterisk-VM-Message-Num counts from 1
    return { format: 'asterisk-notify', mailbox: id?.[2], msgNum, callerIdNum, callerIdName };
};

/** The voicemail a notification e-mail announces (class `notification`), or undefined. */
export function announcedVoicemail(h: HeaderMap): VoicemailMeta | undefined {
    return compact(asteriskNotify(h));
}

/** FreeSWITCH mod_voicemail appends X-Voicemail-Length (seconds) to its e-mail headers. */
const freeswitch: Format = h => {
    const length = value(h, 'x-voicemail-length');
    return length === undefined ? undefined : { format: 'freeswitch', durationSec: seconds(length) };
};

/** Exchange Unified Messaging. A calling number alone (missed-call notices) is not a voice message. */
const exchangeUm: Format = h => {
    const duration = value(h, 'x-voicemessageduration');
    const sender = value(h, 'x-voicemessagesendername');
    if (duration === undefined && sender === undefined) return undefined;
    return { format: 'exchange-um', callerIdNum: value(h, 'x-callingtelephonenumber'), callerIdName: sender, durationSec: seconds(duration) };
};

/** VPIM v2 (RFC 3801): the top-level multipart/voice-message. */
const vpim: Format = h => (/^multipart\/voice-message$/i.test(contentType(h).value) ? { format: 'vpim' } : undefined);

/** RFC 3458 Message-Context: voice-message on any other message. */
const rfc3458: Format = h => (/^\s*voice-message\b/i.test(first(h, 'message-context') ?? '') ? { format: 'rfc3458' } : undefined);

export function asteriskStorage(h: HeaderMap): VoicemailMeta | undefined {
    return compact(asterisk(h));
}

/** Most specific first: VPIM also sets Message-Context, Exchange UM fax shares the calling number. */
const OTHER_FORMATS: Format[] = [exchangeUm, freeswitch, vpim, rfc3458];

/** Voicemail in any format other than Asterisk's stored copy, with absent fields dropped. */
export function otherVoicemail(h: HeaderMap): VoicemailMeta | undefined {
    for (const f of OTHER_FORMATS) {
        const meta = compact(f(h));
        if (meta) return meta;
    }
    return undefined;
}

/**
 * Adds the recording found in the body scan: VPIM's voice=Voice-Message part (not the sender's
 * spoken name), else the first audio part; VPIM's Content-Duration when the header had none.
 */
export function withAudio(meta: VoicemailMeta, parts: PartInfo[]): VoicemailMeta {
    const audios = parts.filter(p => /^audio\//i.test(p.contentType.trim()));
    const audio = audios.find(p => /^voice-message$/i.test(p.voice ?? '')) ?? audios[0];
    if (!audio) return meta;
    const out: VoicemailMeta = {
        ...meta,
        audio: audio.name ? { name: audio.name, contentType: audio.contentType, size: audio.size } : { contentType: audio.contentType, size: audio.size }
    };
    if (out.durationSec === undefined && audio.durationSec !== undefined) out.durationSec = audio.durationSec;
    return out;
}

function value(h: HeaderMap, name: string): string | undefined {
    const v = first(h, name)?.trim();
    return v ? v : undefined;
}

function integer(v: string | undefined): number | undefined {
    return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

function seconds(v: string | undefined): number | undefined {
    return v !== undefined && /^\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
}

function compact(meta: VoicemailMeta | undefined): VoicemailMeta | undefined {
    if (!meta) return undefined;
    for (const k of Object.keys(meta) as (keyof VoicemailMeta)[]) if (meta[k] === undefined) delete meta[k];
    return meta;
}
