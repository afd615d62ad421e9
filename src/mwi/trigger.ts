// Which events can change a box's counts. Voicemail (class voicemail or X-Asterisk metadata)
// concerns the boxes its headers name; a message of unknown class concerns the boxes whose
// voicemail folder it is in; a message known to be something else (email, fax, receipt, greeting)
// never does. Flag events matter only for \Seen, \Deleted and \Flagged.
import type { VmEvent } from '../events/event.js';
import type { EventSink } from '../events/sink.js';
import { GREETING_TYPES } from '../classify/greeting.js';
import type { BoxDirectory, VoicemailBox } from './boxes.js';

const COUNTED_FLAGS = new Set(['\\seen', '\\deleted', '\\flagged']);

export interface RecountRequester {
    request(boxes: VoicemailBox[]): void;
}

export function affectedBoxes(ev: VmEvent, dir: BoxDirectory): VoicemailBox[] {
    if (ev.type === 'mwi' || ev.type === 'reset') return [];
    if (ev.class && ev.class !== 'voicemail') return [];
    if (GREETING_TYPES.has((ev.voicemail?.messageType ?? '').trim().toLowerCase())) return [];
    if (ev.type === 'flag') {
        const changed = [...ev.flags.set, ...ev.flags.cleared];
        if (!changed.some(f => COUNTED_FLAGS.has(f.toLowerCase()))) return [];
    }
    const named = dir.learn(ev);
    if (named.length) return named;
    const folders = new Set([ev.mailbox, ...(ev.type === 'move' ? [ev.from.mailbox, ev.to.mailbox] : [])].filter((f): f is string => !!f));
    const out = new Map<string, VoicemailBox>();
    for (const f of folders) for (const b of dir.inFolder(ev.user, f)) out.set(b.id, b);
    return [...out.values()];
}

/** The EventSink the bridge feeds every event to; it schedules recounts of the boxes concerned. */
export class MwiTrigger implements EventSink {
    constructor(
        private readonly boxes: BoxDirectory,
        private readonly mwi: RecountRequester
    ) {}

    emit(ev: VmEvent): void {
        const boxes = affectedBoxes(ev, this.boxes);
        if (boxes.length) this.mwi.request(boxes);
    }
}
