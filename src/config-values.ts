// Option values that mean more than a string, parsed once by the schema (config.ts) into typed
// values: the deliver target, the IMAP and AMI targets, the memcached servers (or the memory resolver) and
// listener addresses. Stages take these and never read the option's text again. Each value keeps
// the text it was given (`text`, also its JSON form) for what is printed: the ready line, doctor,
// the reload diff and log lines stay as the operator wrote them.
import { z } from 'zod';
import { parseDeliverTarget, type DeliverTarget } from './deliver/target.js';
import { parseImapUrl, type ImapTarget } from './imap/target.js';
import { parseAmiUrl } from './mwi/ami.js';
import { parseResolver, parseServers, type ParsedServers, type ResolverSpec } from './memcached/servers.js';
import { parseHostPort, parseListenAddress, type HostPort, type ListenAddress } from './net/address.js';

/** A parsed value with the text it came from. */
export type Described<T> = T & { readonly text: string };

export type DeliverValue = Described<DeliverTarget>;
export type ImapValue = Described<ImapTarget>;
export type ResolverValue = Described<ResolverSpec>;
export type ServersValue = Described<ParsedServers>;
export type ListenValue = Described<ListenAddress>;
export type TcpValue = Described<HostPort>;

/** `value` plus its `text`; JSON.stringify (pino, the reload diff) and templates write the text. */
export function described<T extends object>(text: string, value: T): Described<T> {
    const toText = { value: () => text };
    return Object.defineProperties({ ...value, text }, { toJSON: toText, toString: toText });
}

/** A zod transform through `parse`: its error message is the issue (loadConfig names the option). */
function parsedBy<T extends object>(parse: (text: string) => T) {
    return (text: string, ctx: z.RefinementCtx): Described<T> => {
        try {
            return described(text, parse(text));
        } catch (err) {
            ctx.addIssue({ code: 'custom', message: (err as Error).message });
            return z.NEVER;
        }
    };
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+|[0-9a-fA-F:]+):\d{1,5}$/;
export const hostPortText = z.string().regex(HOST_PORT, 'expected host:port');

/** A TCP listener: host:port. */
export const tcpListen = hostPortText.transform(parsedBy(parseHostPort));

/** A TCP listener or a unix stream socket (`unixPattern` says which paths the option takes). */
export const listenOrUnix = (unixPattern: RegExp) =>
    z
        .string()
        .refine(v => unixPattern.test(v) || HOST_PORT.test(v), 'expected host:port or unix:/path/to/socket')
        .transform(parsedBy(parseListenAddress));

/** host:port, or a bare port meaning loopback (--http). */
export const portOrTcpListen = z
    .string()
    .regex(/^(\d{1,5}|(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+|[0-9a-fA-F:]+):\d{1,5})$/, 'expected host:port or a port')
    .transform(v => (/^\d+$/.test(v) ? `127.0.0.1:${v}` : v))
    .transform(parsedBy(parseHostPort));

// deliver/target.ts: the same parser createDeliverer's targets come from
export const deliverTarget = z
    .string()
    .regex(/^(lmtp:\/\/[^/]+|lmtp:\/.+|lda:.+|maildir:.+)$/, 'expected lmtp://host:port, lmtp:/socket, lda:<path> or maildir:<dir>')
    .transform(parsedBy(parseDeliverTarget));

// the pool also needs the master user (imap/pool.ts); AUTH checks only need host and port
export const imapTarget = z
    .string()
    .regex(/^imaps?:\/\//, 'expected imap://user:password@host:port')
    .transform(parsedBy(parseImapUrl));

// Asterisk's manager interface (MWI): user, secret, host, port
export const amiTarget = z
    .string()
    .regex(/^ami:\/\//, 'expected ami://user:secret@host:port')
    .transform(parsedBy(parseAmiUrl));

/** `memory` or a libmemcached string placing keys as OpenChange's libmemcached does. */
export const resolverValue = z.string().transform(parsedBy(parseResolver));

/** A libmemcached string only (no memory resolver). */
export const serversValue = z.string().min(1).transform(parsedBy(parseServers));
