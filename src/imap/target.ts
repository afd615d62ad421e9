// The --imap value, parsed once: Dovecot reached as its master user (config.ts refuses a value
// this cannot parse, naming --imap; the pool and the header/uid lookups take the parsed target).
import { stripBrackets } from '../net/address.js';

export interface ImapTarget {
    host: string;
    port: number;
    secure: boolean;
    master: string;
    password: string;
}

/** `imap://master:pw@host:port` (imaps:// for TLS on connect); AUTH checks need no user (requireMaster). */
export function parseImapUrl(url: string): ImapTarget {
    const u = new URL(url);
    if (u.protocol !== 'imap:' && u.protocol !== 'imaps:') throw new Error('expected imap://master:password@host:port');
    const secure = u.protocol === 'imaps:';
    return {
        host: stripBrackets(u.hostname),
        port: u.port ? Number(u.port) : secure ? 993 : 143,
        secure,
        master: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password)
    };
}

/** The pool logs in as the master user: a target without one is refused (config.ts names --imap). */
export function requireMaster(t: ImapTarget): ImapTarget {
    if (!t.master) throw new Error('the IMAP url needs the master user: imap://master:password@host:port');
    return t;
}
