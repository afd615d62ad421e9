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

/** `imap://master:pw@host:port` (imaps:// for TLS on connect). */
export function parseImapUrl(url: string): ImapTarget {
    const u = new URL(url);
    if (u.protocol !== 'imap:' && u.protocol !== 'imaps:') throw new Error('expected imap://master:password@host:port');
    if (!u.username) throw new Error('the IMAP url needs the master user: imap://master:password@host:port');
    const secure = u.protocol === 'imaps:';
    return {
        host: stripBrackets(u.hostname),
        port: u.port ? Number(u.port) : secure ? 993 : 143,
        secure,
        master: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password)
    };
}
