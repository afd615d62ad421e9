// voicemail.conf as app_voicemail reads it (load_users/append_mailbox/apply_options): every
// section but [general], [zonemessages] and the aliases context holds mailbox lines
// `1000 => pin,Full Name,email,pager,opt=val|opt=val`. Only the IMAP options matter here.
import { readFileSync } from 'node:fs';

export interface ConfBox {
    mailbox: string;
    context: string;
    imapuser?: string;
    imapfolder?: string;
    imapvmshareid?: string;
}

export interface VoicemailConf {
    boxes: ConfBox[];
    /** [general] imapfolder: where voicemail lives when a box does not say (Asterisk: INBOX). */
    imapfolder: string;
}

const SKIP = new Set(['general', 'zonemessages']);

export function parseVoicemailConf(text: string): VoicemailConf {
    const general = new Map<string, string>();
    const lines: { context: string; name: string; value: string }[] = [];
    let context = '';
    for (const raw of text.split(/\r?\n/)) {
        const line = stripComment(raw).trim();
        if (!line) continue;
        const section = /^\[([^\]]+)\](\(.*\))?$/.exec(line);
        if (section) {
            context = section[1].trim();
            continue;
        }
        // Asterisk accepts both `=>` and `=` between name and value.
        const m = /^([^=]+?)\s*=>?\s*(.*)$/.exec(line);
        if (!m || !context) continue;
        if (context.toLowerCase() === 'general') general.set(m[1].toLowerCase(), m[2]);
        else lines.push({ context, name: m[1], value: m[2] });
    }
    const aliases = (general.get('aliasescontext') ?? '').toLowerCase();
    const boxes = lines
        .filter(l => !SKIP.has(l.context.toLowerCase()) && l.context.toLowerCase() !== aliases)
        .map(l => ({ mailbox: l.name, context: l.context, ...imapOptions(l.value) }));
    return { boxes, imapfolder: general.get('imapfolder') || 'INBOX' };
}

export function readVoicemailConf(path: string): VoicemailConf {
    return parseVoicemailConf(readFileSync(path, 'utf8'));
}

/** `;` starts a comment unless escaped as `\;` (Asterisk's config parser). */
function stripComment(line: string): string {
    const i = line.search(/(?<!\\);/);
    return (i < 0 ? line : line.slice(0, i)).replace(/\\;/g, ';');
}

type ImapOptions = Pick<ConfBox, 'imapuser' | 'imapfolder' | 'imapvmshareid'>;

/**
 * append_mailbox takes four comma-separated fields (pin, name, email, pager) and hands the rest to
 * apply_options, which splits on `|`. Configurations also separate options with `,`; a comma
 * only separates when an `option=` follows, so values such as emailbody keep their commas.
 */
function imapOptions(value: string): ImapOptions {
    const fields = value.split(',');
    const rest = fields.slice(4).join(',');
    const out: ImapOptions = {};
    for (const opt of rest.split(/\||,(?=\s*[A-Za-z_]+\s*=)/)) {
        const eq = opt.indexOf('=');
        if (eq < 0) continue;
        const key = opt.slice(0, eq).trim().toLowerCase();
        const val = opt.slice(eq + 1).trim();
        if ((key === 'imapuser' || key === 'imapfolder' || key === 'imapvmshareid') && val) out[key] = val;
    }
    return out;
}
