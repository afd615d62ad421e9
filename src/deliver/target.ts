// The --deliver forms, parsed in one place: the schema refuses what these refuse (naming
// --deliver), createDeliverer dispatches on the kind, and each deliverer reads its own part.
import type { LmtpAddress } from './lmtp-connection.js';
import { stripBrackets } from '../net/address.js';

export type DeliverTarget = { kind: 'lmtp'; address: LmtpAddress } | { kind: 'lda'; path: string; args: string[] } | { kind: 'maildir'; dir: string };

export const DELIVER_FORMS = 'lmtp://host:port, lmtp:/socket, lda:<path>[?args] or maildir:<dir>';

export function parseLmtpTarget(target: string): LmtpAddress {
    const tcp = /^lmtp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(target);
    if (tcp) return { host: stripBrackets(tcp[1]), port: Number(tcp[2]) };
    const unix = /^lmtp:(\/[^/].*)$/.exec(target);
    if (unix) return { path: unix[1] };
    throw new Error(`bad LMTP target ${target}: expected lmtp://host:port or lmtp:/path/to/socket`);
}

export function parseLdaTarget(target: string): { path: string; args: string[] } {
    const m = /^lda:([^?]+)(?:\?(.*))?$/.exec(target);
    if (!m) throw new Error(`bad lda target ${target}: expected lda:<path>[?args]`);
    return { path: m[1], args: (m[2] ?? '').split(/\s+/).filter(Boolean) };
}

export function parseMaildirTarget(target: string): { dir: string } {
    const m = /^maildir:(.+)$/.exec(target);
    if (!m) throw new Error(`bad maildir target ${target}: expected maildir:<dir>`);
    return { dir: m[1] };
}

export function parseDeliverTarget(target: string): DeliverTarget {
    if (target.startsWith('lmtp:')) return { kind: 'lmtp', address: parseLmtpTarget(target) };
    if (target.startsWith('lda:')) return { kind: 'lda', ...parseLdaTarget(target) };
    if (target.startsWith('maildir:')) return { kind: 'maildir', ...parseMaildirTarget(target) };
    throw new Error(`unknown delivery target ${target}: expected ${DELIVER_FORMS}`);
}
