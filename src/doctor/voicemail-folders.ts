// Every voicemail.conf box with an imapuser has its folder in that user's mailbox: a missing
// folder counts 0/0 silently, so phones would never light.
import { readVoicemailConf } from '../mwi/voicemail-conf.js';
import { about, message, misconfigured, ok, skip, unavailable, type Check, type Verdict } from './check.js';
import { imapSession } from './imap-login.js';

export const voicemailFolders: Check = {
    name: 'voicemail-folders',
    async run({ config, timeoutMs }) {
        if (!config.voicemailConf) return skip('no --voicemail-conf');
        if (!config.imap) return skip('no --imap');
        let conf;
        try {
            conf = readVoicemailConf(config.voicemailConf);
        } catch (err) {
            return misconfigured(`${config.voicemailConf}: ${message(err)}`, "correct --voicemail-conf (Asterisk's voicemail.conf, readable by the bridge)");
        }
        const boxes = conf.boxes.filter(b => b.imapuser);
        if (!boxes.length) return skip(`${config.voicemailConf} has no box with imapuser=`);
        const out: Verdict[] = [];
        // One session per user, not per box: a PBX has many boxes on few mail users.
        const listed = new Map<string, Promise<string[]>>();
        const folders = (user: string) => {
            if (!listed.has(user))
                listed.set(
                    user,
                    imapSession(config, user, timeoutMs, async c => (await c.list()).map(m => m.path))
                );
            return listed.get(user)!;
        };
        for (const b of boxes) {
            const name = `${b.mailbox}@${b.context}`;
            const folder = b.imapfolder ?? conf.imapfolder;
            try {
                const found = (await folders(b.imapuser!)).some(path => sameFolder(path, folder));
                out.push(
                    about(
                        name,
                        found
                            ? ok(`${b.imapuser}: ${folder} exists`)
                            : misconfigured(
                                  `box ${name}: folder ${folder} does not exist for ${b.imapuser} (counts would stay 0)`,
                                  `create it (doveadm mailbox create -u ${b.imapuser} ${folder}) or correct imapfolder= in ${config.voicemailConf}`
                              )
                    )
                );
            } catch (err) {
                out.push(about(name, unavailable(`${b.imapuser}: ${message(err)}`, 'see the imap-master check')));
            }
        }
        return out;
    }
};

/** INBOX is case-insensitive in IMAP (RFC 3501 5.1); every other name is exact. */
const sameFolder = (a: string, b: string) => a === b || (a.toUpperCase() === 'INBOX' && b.toUpperCase() === 'INBOX');
