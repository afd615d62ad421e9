// Which Dovecot user and folder hold a voicemail box. Configured boxes (voicemail.conf) win;
// otherwise the mapping is learned from voicemail seen on events (X-Asterisk-VM-Extension/Context
// on a message in a user's mailbox). With imapvmshareid several boxes store their messages under
// one id, so one stored message concerns all of them.
import type { MessageEvent } from '../events/event.js';
import type { VoicemailConf } from './voicemail-conf.js';

export interface VoicemailBox {
    /** `1000@default` — the Asterisk mailbox id, as AMI and MWI events name it. */
    id: string;
    mailbox: string;
    context: string;
    /** Dovecot user whose mailbox stores the messages (imapuser). */
    user: string;
    /** Voicemail folder (imapfolder): new and old live there. */
    folder: string;
    /** X-Asterisk-VM-Extension value on its messages: the imapvmshareid, else the mailbox. */
    extension: string;
}

export const DEFAULT_CONTEXT = 'default';

export function boxId(mailbox: string, context = DEFAULT_CONTEXT): string {
    return `${mailbox}@${context}`;
}

/** `1000@default` or `1000` (context default), as Asterisk writes mailbox ids. */
export function parseBoxId(id: string): { mailbox: string; context: string } {
    const at = id.lastIndexOf('@');
    const mailbox = at < 0 ? id : id.slice(0, at);
    const context = at < 0 ? DEFAULT_CONTEXT : id.slice(at + 1) || DEFAULT_CONTEXT;
    if (!mailbox) throw new Error(`invalid voicemail box "${id}": expected mailbox@context`);
    return { mailbox, context };
}

export function makeBox(fields: { mailbox: string; context?: string; user: string; folder?: string; shareId?: string }): VoicemailBox {
    const context = fields.context || DEFAULT_CONTEXT;
    return {
        id: boxId(fields.mailbox, context),
        mailbox: fields.mailbox,
        context,
        user: fields.user,
        folder: fields.folder || 'INBOX',
        extension: fields.shareId || fields.mailbox
    };
}

// Asterisk compares mailbox and context case-insensitively (find_user uses strcasecmp).
const key = (extension: string, context: string) => `${extension}@${context}`.toLowerCase();

export class BoxDirectory {
    private readonly byId = new Map<string, VoicemailBox>();
    /** extension@context as stored on messages → the boxes it concerns. */
    private readonly byStored = new Map<string, VoicemailBox[]>();
    private readonly configured = new Set<string>();

    constructor(conf?: VoicemailConf) {
        for (const b of conf?.boxes ?? []) {
            // Without imapuser Asterisk cannot count the box over IMAP either.
            if (!b.imapuser) continue;
            this.add(makeBox({ mailbox: b.mailbox, context: b.context, user: b.imapuser, folder: b.imapfolder ?? conf?.imapfolder, shareId: b.imapvmshareid }), true);
        }
    }

    all(): VoicemailBox[] {
        return [...this.byId.values()];
    }

    get(id: string): VoicemailBox | undefined {
        return this.byId.get(id.toLowerCase());
    }

    /** Boxes whose messages carry this X-Asterisk-VM-Extension/Context. */
    stored(extension: string, context = DEFAULT_CONTEXT): VoicemailBox[] {
        return this.byStored.get(key(extension, context)) ?? [];
    }

    /** Boxes whose voicemail folder is `folder` of `user`. */
    inFolder(user: string, folder: string): VoicemailBox[] {
        return this.all().filter(b => b.user === user && sameFolder(b.folder, folder));
    }

    /**
     * Learns from an event's voicemail metadata which user stores a box, unless configured or
     * already known. The folder is learned from where new voicemail arrives.
     */
    learn(ev: MessageEvent): VoicemailBox[] {
        const vm = ev.voicemail;
        if (!vm?.mailbox) return [];
        const context = vm.context || DEFAULT_CONTEXT;
        const folder = ev.type === 'newmail' && ev.class === 'voicemail' ? ev.mailbox : undefined;
        const known = this.stored(vm.mailbox, context);
        const learned = known.length === 1 && !this.configured.has(known[0].id.toLowerCase()) ? known[0] : undefined;
        // A box first seen through a flag or move event got the default folder; new voicemail
        // arriving elsewhere in the same user's mailbox shows where it really lives.
        if (learned && folder && learned.user === ev.user && !sameFolder(learned.folder, folder)) {
            const moved = { ...learned, folder };
            this.add(moved, false);
            return [moved];
        }
        if (known.length) return known;
        const box = makeBox({ mailbox: vm.mailbox, context, user: ev.user, folder });
        this.add(box, false);
        return [box];
    }

    private add(box: VoicemailBox, configured: boolean): void {
        const id = box.id.toLowerCase();
        if (this.configured.has(id) && !configured) return;
        const old = this.byId.get(id);
        if (old) this.remove(old);
        this.byId.set(id, box);
        if (configured) this.configured.add(id);
        const k = key(box.extension, box.context);
        this.byStored.set(k, [...(this.byStored.get(k) ?? []), box]);
    }

    private remove(box: VoicemailBox): void {
        const k = key(box.extension, box.context);
        const rest = (this.byStored.get(k) ?? []).filter(b => b !== box);
        if (rest.length) this.byStored.set(k, rest);
        else this.byStored.delete(k);
    }
}

/** INBOX is case-insensitive in IMAP; other names are not. */
export function sameFolder(a: string, b: string): boolean {
    return a === b || (a.toUpperCase() === 'INBOX' && b.toUpperCase() === 'INBOX');
}
