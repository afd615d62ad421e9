// voicemail.conf parsing, box directory (config, learning, imapvmshareid) and which events
// trigger which recounts. No services needed.
import { describe, expect, it } from 'vitest';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { BoxDirectory, makeBox, parseBoxId } from '../../src/mwi/boxes.js';
import { affectedBoxes } from '../../src/mwi/trigger.js';
import { parseVoicemailConf } from '../../src/mwi/voicemail-conf.js';
import type { EventInit } from '../helpers/events.js';

const CONF = `
[general]
format=wav49|gsm|wav
imapfolder=INBOX            ; global default
aliasescontext=myaliases

[zonemessages]
central=America/Chicago|'vm-received' Q 'digits/at' IMp

[default]
1000 => 1234,Alice Example,alice@example.org,,attach=yes|imapuser=alice@example.org|imappassword=x
10001 => 4321,Alice Two,alice@example.org,,imapuser=alice@example.org,imapfolder=Voicemail
1234 => 4242,No Imap,root@localhost
; 2000 => 1,Commented,out@example.org,,imapuser=nobody
2001 => 1,Bob,bob@example.org,,emailbody=Hi, there\\; call back|imapuser=bob@example.org

[sales]
600 = 1,Sales A,,,imapuser=carol@example.org|imapvmshareid=6000
601 => 1,Sales B,,,imapuser=carol@example.org|imapvmshareid=6000

[myaliases]
1234@devices => 1234@default
`;

const ev = (fields: EventInit): VmEvent => makeEvent({ id: 'x', user: 'alice@example.org', mailbox: 'INBOX', ...fields });

describe('voicemail.conf', () => {
    it('reads boxes with imapuser, imapfolder and imapvmshareid, with | or , between options', () => {
        const conf = parseVoicemailConf(CONF);
        expect(conf.imapfolder).toBe('INBOX');
        const byId = Object.fromEntries(conf.boxes.map(b => [`${b.mailbox}@${b.context}`, b]));
        expect(Object.keys(byId).sort()).toEqual(['10001@default', '1000@default', '1234@default', '2001@default', '600@sales', '601@sales']);
        expect(byId['1000@default']).toMatchObject({ imapuser: 'alice@example.org' });
        expect(byId['10001@default']).toMatchObject({ imapuser: 'alice@example.org', imapfolder: 'Voicemail' });
        expect(byId['1234@default'].imapuser).toBeUndefined();
        expect(byId['2001@default'].imapuser).toBe('bob@example.org'); // comma inside emailbody, escaped ;
        expect(byId['600@sales']).toMatchObject({ imapuser: 'carol@example.org', imapvmshareid: '6000' });
    });

    it('maps boxes to users and folders; shared ids concern every box that shares them', () => {
        const dir = new BoxDirectory(parseVoicemailConf(CONF));
        expect(dir.get('1234@default')).toBeUndefined(); // no imapuser: Asterisk cannot count it either
        expect(dir.get('10001@default')).toMatchObject({ user: 'alice@example.org', folder: 'Voicemail', extension: '10001' });
        expect(
            dir
                .stored('6000', 'sales')
                .map(b => b.id)
                .sort()
        ).toEqual(['600@sales', '601@sales']);
        expect(dir.stored('600', 'sales')).toEqual([]);
        expect(dir.inFolder('alice@example.org', 'inbox').map(b => b.id)).toEqual(['1000@default']);
    });

    it('parses box ids', () => {
        expect(parseBoxId('1000')).toEqual({ mailbox: '1000', context: 'default' });
        expect(parseBoxId('1000@sales')).toEqual({ mailbox: '1000', context: 'sales' });
        expect(() => parseBoxId('@sales')).toThrow(/invalid voicemail box/);
    });
});

describe('triggers', () => {
    const dir = () => new BoxDirectory(parseVoicemailConf(CONF));
    const vm1000 = { mailbox: '1000', context: 'default' };

    it('newmail of class voicemail recounts the box its headers name; learns unknown boxes', () => {
        const d = dir();
        expect(affectedBoxes(ev({ type: 'newmail', class: 'voicemail', voicemail: vm1000 }), d).map(b => b.id)).toEqual(['1000@default']);
        const learned = affectedBoxes(ev({ type: 'newmail', user: 'bob@example.org', mailbox: 'VM', class: 'voicemail', voicemail: { mailbox: '3000', context: 'x' } }), d);
        expect(learned).toEqual([makeBox({ mailbox: '3000', context: 'x', user: 'bob@example.org', folder: 'VM' })]);
        expect(d.get('3000@x')?.user).toBe('bob@example.org');
        // first seen on a flag event (default folder), then new voicemail arrives in its real folder
        affectedBoxes(ev({ type: 'flag', class: 'voicemail', voicemail: { mailbox: '3100' }, flags: { set: ['\\Seen'], cleared: [] } }), d);
        expect(d.get('3100@default')?.folder).toBe('INBOX');
        affectedBoxes(ev({ type: 'newmail', mailbox: 'Voicemail', class: 'voicemail', voicemail: { mailbox: '3100' } }), d);
        expect(d.get('3100@default')?.folder).toBe('Voicemail');
        // a configured box keeps its configured folder
        affectedBoxes(ev({ type: 'newmail', mailbox: 'Elsewhere', class: 'voicemail', voicemail: vm1000 }), d);
        expect(d.get('1000@default')?.folder).toBe('INBOX');
        // shared id → every box stored under it
        expect(affectedBoxes(ev({ type: 'newmail', user: 'carol@example.org', class: 'voicemail', voicemail: { mailbox: '6000', context: 'sales' } }), d)).toHaveLength(2);
    });

    it('flag events count only for \\Seen, \\Deleted, \\Flagged', () => {
        const d = dir();
        for (const f of ['\\Seen', '\\Deleted', '\\Flagged']) {
            expect(affectedBoxes(ev({ type: 'flag', class: 'voicemail', voicemail: vm1000, flags: { set: [], cleared: [f] } }), d)).toHaveLength(1);
        }
        expect(affectedBoxes(ev({ type: 'flag', class: 'voicemail', voicemail: vm1000, flags: { set: ['\\Answered', '$Label1'], cleared: [] } }), d)).toEqual([]);
    });

    it("unknown class in a voicemail folder recounts that folder's boxes; known non-voicemail never", () => {
        const d = dir();
        const seen = { set: ['\\Seen'], cleared: [] };
        expect(affectedBoxes(ev({ type: 'flag', flags: seen }), d).map(b => b.id)).toEqual(['1000@default']);
        expect(affectedBoxes(ev({ type: 'flag', mailbox: 'Voicemail', flags: seen }), d).map(b => b.id)).toEqual(['10001@default']);
        expect(affectedBoxes(ev({ type: 'flag', mailbox: 'Sent', flags: seen }), d)).toEqual([]);
        expect(affectedBoxes(ev({ type: 'flag', class: 'email', flags: seen }), d)).toEqual([]);
        expect(affectedBoxes(ev({ type: 'delete', class: 'greeting', voicemail: { ...vm1000, messageType: 'unavail' } }), d)).toEqual([]);
        expect(affectedBoxes(ev({ type: 'delete', voicemail: { ...vm1000, messageType: 'busy' } }), d)).toEqual([]);
        expect(affectedBoxes(ev({ type: 'move', mailbox: 'Old', from: { mailbox: 'INBOX', uid: 1 }, to: { mailbox: 'Old', uid: 1 } }), d).map(b => b.id)).toEqual(['1000@default']);
        expect(affectedBoxes(ev({ type: 'mwi', mwi: { mailbox: '1000@default', new: 0, old: 0, urgent: 0 } }), d)).toEqual([]);
    });
});
