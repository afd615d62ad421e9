// The folder and separator OpenChange's Dovecot plugin would send for a mailbox:
// mailbox_get_name() — Dovecot's storage name: namespace prefix cut, the mailbox list's hierarchy
// separator between levels, modified UTF-7 (RFC 3501) for non-ASCII unless the layout stores
// UTF-8 — and mailbox_list_get_hierarchy_sep(). Both are learned from Dovecot, never configured:
// the hook reports `storage_name` (mailbox.name) per MessageNew/MessageAppend and `storage_sep`
// when its probe can tell (the list separator differs from the namespace one); when it cannot,
// the list and namespace separators are the same, and the namespace's comes from IMAP NAMESPACE
// over --imap (cached per user). Without the hook's report: the vname in modified UTF-7.
// Without --imap and no report of the separator: '.', Dovecot's Maildir++ default.
import type { Batch } from '../hook/batch.js';
import type { Logger } from '../log.js';
import type { ImapPool } from '../imap/pool.js';
import { FOLDER_CACHE_MAX } from '../limits.js';

export interface FolderName {
    folder: string;
    separator: string;
}

const DEFAULT_SEP = '.';

export class FolderNames {
    private readonly learned = new Map<string, { name: string; sep?: string }>();
    private readonly namespaces = new Map<string, Promise<{ prefix: string; sep: string }[]>>();

    constructor(private readonly opts: { imap?: ImapPool; logger?: Logger } = {}) {}

    /** Records what the hook reported for each mailbox of a batch. */
    learn(batch: Batch): void {
        for (const ev of batch.events) {
            if (ev.storage_name === undefined) continue;
            const key = `${batch.user}\0${ev.mailbox}`;
            this.learned.delete(key); // re-insert: the Map's order is the LRU order
            this.learned.set(key, { name: ev.storage_name, ...(ev.storage_sep ? { sep: ev.storage_sep } : {}) });
            if (this.learned.size > FOLDER_CACHE_MAX) this.learned.delete(this.learned.keys().next().value as string);
        }
    }

    async resolve(user: string, vname: string): Promise<FolderName> {
        const hit = this.learned.get(`${user}\0${vname}`);
        const folder = hit?.name ?? toModifiedUtf7(vname);
        const separator = hit?.sep ?? (await this.namespaceSep(user, vname)) ?? DEFAULT_SEP;
        return { folder, separator };
    }

    private async namespaceSep(user: string, vname: string): Promise<string | undefined> {
        const imap = this.opts.imap;
        if (!imap) return undefined;
        let ns = this.namespaces.get(user);
        if (!ns) {
            ns = imap.with(user, async c => {
                const all = c.namespaces;
                const list = [...(all?.personal ?? []), ...(all?.other || []), ...(all?.shared || [])];
                return list.filter(n => typeof n.delimiter === 'string' && n.delimiter.length === 1).map(n => ({ prefix: n.prefix, sep: n.delimiter as string }));
            });
            this.namespaces.set(user, ns);
            ns.catch(() => this.namespaces.delete(user)); // a failure is retried next time
        }
        try {
            const list = await ns;
            const match = list.filter(n => vname.startsWith(n.prefix)).sort((a, b) => b.prefix.length - a.prefix.length)[0];
            return match?.sep;
        } catch (err) {
            this.opts.logger?.warn({ err, user }, 'IMAP NAMESPACE failed; OpenChange separator falls back to "."');
            return undefined;
        }
    }
}

/** RFC 3501 modified UTF-7: printable ASCII as is ('&' as "&-"), other runs as &<base64 of UTF-16BE>-. */
export function toModifiedUtf7(s: string): string {
    return s.replace(/&|[^\x20-\x7e]+/g, run => {
        if (run === '&') return '&-';
        const utf16 = Buffer.from(run, 'utf16le').swap16();
        return `&${utf16.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
    });
}
