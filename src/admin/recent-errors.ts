// The last warn/error log entries for the status page, in a bounded ring. Fed by a pino
// logMethod hook (log.ts), so nothing extra is serialized for info/debug lines. The status page
// is unauthenticated: an entry keeps the message and a few fields, with addresses, caller IDs,
// host addresses and anything secret-looking redacted (docs/policy.md).
import { RECENT_ERRORS_MAX, RECENT_ERROR_DETAIL_MAX } from '../limits.js';

export interface RecentError {
    at: string;
    level: 'warn' | 'error' | 'fatal';
    msg: string;
    stage?: string;
    code?: number;
    detail?: string;
}

const ring: RecentError[] = [];
const LEVELS: Record<number, RecentError['level']> = { 40: 'warn', 50: 'error', 60: 'fatal' };
/** fields whose text explains the failure; everything else (user, rcpt, caller, box...) is left out */
const DETAIL_FIELDS = ['reason', 'problem', 'err', 'error'] as const;

/** pino's logMethod hook: args are what the caller passed (object first, or a message only). */
export function recordLog(args: unknown[], level: number): void {
    const name = LEVELS[level];
    if (!name) return;
    const [first, second] = args;
    const obj = first && typeof first === 'object' ? (first as Record<string, unknown>) : {};
    const msg = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
    const detail = DETAIL_FIELDS.map(k => obj[k]).find(v => v !== undefined);
    const entry: RecentError = { at: new Date().toISOString(), level: name, msg: redact(msg) };
    if (typeof obj.stage === 'string') entry.stage = obj.stage;
    if (typeof obj.code === 'number') entry.code = obj.code;
    if (detail !== undefined)
        entry.detail = redact(detail instanceof Error ? detail.message : typeof detail === 'string' ? detail : JSON.stringify(detail)).slice(0, RECENT_ERROR_DETAIL_MAX);
    ring.push(entry);
    if (ring.length > RECENT_ERRORS_MAX) ring.shift();
}

/** Newest first. */
export function recentErrors(): RecentError[] {
    return [...ring].reverse();
}

/** Mail addresses, URL credentials, IP addresses and digit runs that may be a caller ID or box number. */
export function redact(text: string): string {
    return text
        .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^@\s/]*@/gi, m => m.slice(0, m.indexOf('//') + 2) + '[redacted]@')
        .replace(/[^\s<>"'(),;:[\]/]+@[^\s<>"'(),;:]+/g, '[address]')
        .replace(/\b\d{1,3}(\.\d{1,3}){3}\b/g, '[ip]')
        .replace(/\b[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}\b/gi, '[ip]')
        .replace(/\+?\b\d{4,}\b/g, '[number]');
}
