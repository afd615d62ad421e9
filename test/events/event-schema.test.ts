// The shipped JSON Schema (schema/event.v1.json) is what the zod schema generates, accepts the
// events the bridge really produces and rejects malformed ones, as a non-TypeScript consumer
// validating with ajv would see it.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { eventJsonSchema } from '../../src/events/json-schema.js';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { decodeEvent, encodeEvent } from '../../src/wire/json.js';
import { newmailEvent } from '../../src/events/newmail.js';
import { resetEvent } from '../../src/publish/journal.js';

const shipped = JSON.parse(readFileSync(new URL('../../schema/event.v1.json', import.meta.url), 'utf8'));
const validate = new Ajv({ strict: false }).compile(shipped);

const voicemail = {
    mailbox: '1000',
    context: 'default',
    callerIdNum: '5551234',
    callerIdName: 'Alice',
    durationSec: 7,
    urgent: false,
    msgNum: 1,
    origTime: 1700000000,
    messageType: 'Message',
    serverName: 'pbx1',
    vmMessageId: '1700000000-00000001',
    format: 'wav49',
    audio: { name: 'msg0001.WAV', contentType: 'audio/x-wav', size: 5200 }
};

const real: VmEvent[] = [
    newmailEvent(
        {
            sessionId: 's1',
            rcptIndex: 0,
            rcpt: 'alice@example.org',
            user: 'alice',
            from: 'asterisk@pbx',
            size: 900,
            classification: { class: 'voicemail', messageId: '<m1@x>', voicemail }
        },
        { mailbox: 'INBOX', uid: 42, uidValidity: 1700000000 }
    ),
    makeEvent({ id: 'fl.1', seq: 2, type: 'flag', user: 'alice', mailbox: 'INBOX', uid: 42, uidValidity: 1700000000, class: 'voicemail', flags: { set: ['\\Seen'], cleared: [] } }),
    makeEvent({ id: 'mv.1', seq: 3, type: 'move', user: 'alice', mailbox: 'Old', uid: 7, from: { mailbox: 'INBOX', uid: 42 }, to: { mailbox: 'Old', uid: 7 } }),
    makeEvent({ id: 'dl.1', seq: 4, type: 'delete', user: 'alice', mailbox: 'Old', uid: 7 }),
    makeEvent({ id: 'mwi.1', seq: 5, type: 'mwi', user: 'alice', mwi: { mailbox: '1000@default', new: 0, old: 1, urgent: 0 } }),
    makeEvent({ id: 'nm.2', type: 'newmail', user: 'bob', class: 'notification', voicemail: { mailbox: '2000' } }),
    resetEvent('alice', 'cursor-too-old', 9)
];

describe('schema/event.v1.json', () => {
    test('is what the zod schema generates (npm run schema is up to date)', () => {
        expect(shipped).toEqual(JSON.parse(JSON.stringify(eventJsonSchema())));
    });

    test.each(real.map(ev => [ev.type, ev] as const))('accepts a real %s event, as the wire carries it', (_type, ev) => {
        const wire = JSON.parse(encodeEvent(ev));
        expect(validate(wire), JSON.stringify(validate.errors)).toBe(true);
        expect(decodeEvent(encodeEvent(ev))).toEqual(wire);
    });

    test('accepts fields it does not know (v1 grows additively)', () => {
        expect(validate({ ...JSON.parse(encodeEvent(real[4])), later: { added: true } })).toBe(true);
    });

    const mwi = JSON.parse(encodeEvent(real[4]));
    const flag = JSON.parse(encodeEvent(real[1]));
    const move = JSON.parse(encodeEvent(real[2]));
    const malformed: [string, unknown][] = [
        ['not an object', 'newmail'],
        ['wrong version', { ...mwi, v: 2 }],
        ['unknown type', { ...mwi, type: 'bounce' }],
        ['no id', { ...mwi, id: undefined }],
        ['empty user', { ...mwi, user: '' }],
        ['mwi without counts', { ...mwi, mwi: undefined }],
        ['negative count', { ...mwi, mwi: { ...mwi.mwi, new: -1 } }],
        ['flag without flags', { ...flag, flags: undefined }],
        ['move without from', { ...move, from: undefined }],
        ['uid not an integer', { ...flag, uid: 4.5 }],
        ['unknown class', { ...flag, class: 'spam' }],
        ['reset with an unknown reason', { ...JSON.parse(encodeEvent(real[6])), reason: 'because' }],
        ['negative seq', { ...mwi, seq: -1 }]
    ];
    test.each(malformed)('rejects %s (and so does decodeEvent)', (_what, bad) => {
        const wire = JSON.parse(JSON.stringify(bad));
        expect(validate(wire)).toBe(false);
        expect(decodeEvent(JSON.stringify(wire))).toBeNull();
    });
});
