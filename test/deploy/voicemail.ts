// What the Postfix deployment tests send and expect: the Asterisk voicemail fixture, the check
// that Dovecot stored it as sent, and the newmail every deployment announces for it.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const fixture = (n: string) => readFileSync(path.join(__dirname, '../fixtures/messages', n));
export const VOICEMAIL = fixture('asterisk-voicemail.eml');
export const PLAIN = fixture('plain.eml');

/** The newmail for VOICEMAIL in alice@example.org's INBOX, classified with its Asterisk metadata. */
export const VOICEMAIL_NEWMAIL = {
    type: 'newmail',
    mailbox: 'INBOX',
    class: 'voicemail',
    messageId: '<Asterisk-1-1804289383-1000-4242@pbx.example.org>',
    voicemail: { mailbox: '1000', context: 'default', callerIdNum: '5551234' }
};

/** Postfix and Dovecot prepend trace headers; what follows them must be exactly what was sent. */
export function storedAsSent(stored: Buffer, sent: Buffer): boolean {
    return stored.length > sent.length && stored.subarray(stored.length - sent.length).equals(sent);
}
