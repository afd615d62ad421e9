// Asterisk greetings (imapgreetings=yes): stored like voicemail but with X-Asterisk-VM-Message-Type
// set to the greeting's name. They are recordings of the box owner, never messages: MWI must not
// count them.
import type { VoicemailMeta } from '../events/event.js';

export const GREETING_TYPES = new Set(['unavail', 'busy', 'greet', 'temp']);

export function isGreeting(meta: VoicemailMeta): boolean {
    return meta.format === 'asterisk' && GREETING_TYPES.has((meta.messageType ?? '').trim().toLowerCase());
}
