// examples/asterisk stays valid: voicemail.conf read by vmbridge's own parser (serve
// --voicemail-conf) gives the boxes the README promises, and manager.conf grants the AMI user only
// what vmbridge sends, on loopback.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BoxDirectory } from '../../src/mwi/boxes.js';
import { readVoicemailConf } from '../../src/mwi/voicemail-conf.js';

const DIR = path.resolve(__dirname, '../../examples/asterisk');

/** `[section]` → key → value, as Asterisk's config parser reads `key = value ; comment`. */
function sections(file: string): Map<string, Map<string, string>> {
    const out = new Map<string, Map<string, string>>();
    let cur: Map<string, string> | undefined;
    for (const raw of readFileSync(path.join(DIR, file), 'utf8').split('\n')) {
        const line = raw.replace(/;.*/, '').trim();
        const head = /^\[([^\]]+)\]/.exec(line);
        if (head) out.set(head[1], (cur = new Map()));
        const kv = /^([\w-]+)\s*=>?\s*(.*)$/.exec(line);
        if (kv && cur) cur.set(kv[1].toLowerCase(), kv[2].trim());
    }
    return out;
}

describe('examples/asterisk', () => {
    it('voicemail.conf maps each box to its Dovecot user and folder', () => {
        const conf = readVoicemailConf(path.join(DIR, 'voicemail.conf'));
        const boxes = new BoxDirectory(conf).all().map(b => ({ id: b.id, user: b.user, folder: b.folder }));
        expect(boxes).toEqual([
            { id: '1000@default', user: 'alice@example.org', folder: 'INBOX' },
            { id: '1001@default', user: 'bob@example.org', folder: 'Voicemail' }
        ]);
    });

    it('voicemail.conf uses IMAP storage through a master user, greetings apart, no polling', () => {
        const general = sections('voicemail.conf').get('general')!;
        expect(Object.fromEntries(['imapserver', 'imapport', 'authuser', 'imapfolder', 'imapgreetings', 'pollmailboxes', 'expungeonhangup'].map(k => [k, general.get(k)]))).toEqual(
            {
                imapserver: '127.0.0.1',
                imapport: '143',
                authuser: 'vmmaster',
                imapfolder: 'INBOX',
                imapgreetings: 'yes',
                pollmailboxes: 'no',
                expungeonhangup: 'yes'
            }
        );
        // Greetings outside the voicemail folder, so Asterisk's count agrees with vmbridge's.
        expect(general.get('greetingsfolder')).toBeTruthy();
        expect(general.get('greetingsfolder')).not.toBe(general.get('imapfolder'));
    });

    it('manager.conf: loopback only, the vmbridge user may send VoicemailRefresh (class user) and reads only class call (MessageWaiting)', () => {
        const conf = sections('manager.conf');
        expect(conf.get('general')?.get('bindaddr')).toBe('127.0.0.1');
        const user = conf.get('vmbridge')!;
        expect(user.get('write')).toBe('user');
        expect(user.get('read')).toBe('call');
        expect(user.get('permit')).toBe('127.0.0.1/255.255.255.255');
        expect(user.get('deny')).toBe('0.0.0.0/0.0.0.0');
        expect(user.get('secret')?.length).toBeGreaterThanOrEqual(16);
    });
});
