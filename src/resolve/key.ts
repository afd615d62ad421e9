// Memcached keys: OpenChange's `resolver:<cn>` exactly as its Dovecot plugin computes it, and
// vmbridge's own subscription keys. memcached forbids spaces and control bytes and allows 250
// bytes; a key that breaks either rule gets the bad bytes replaced and a hash of the original
// appended (so distinct names stay distinct), and is cut to fit. Valid keys pass unchanged, which
// is what keeps them identical to OpenChange's — except one that already ends like a sanitised
// key (`~` + 16 hex digits): it is hashed too, so a sanitised key never equals a clean one.
import { createHash } from 'node:crypto';

export type CnMode = 'username' | 'email';
export const MAX_KEY_BYTES = 250;
const HASH_CHARS = 16;
const SANITISED = new RegExp(`~[0-9a-f]{${HASH_CHARS}}$`);

/** openchange_cn: `username` = the Dovecot username cut at the first '@', `email` = all of it; lowercased. */
export function cnFor(user: string, mode: CnMode): string {
    const at = user.indexOf('@');
    const cn = mode === 'username' && at >= 0 ? user.slice(0, at) : user;
    return cn.toLowerCase();
}

export function resolverKey(user: string, mode: CnMode): string {
    return sanitizeKey(`resolver:${cnFor(user, mode)}`);
}

/** Returns the key unchanged when memcached accepts it, else a safe, still-distinct form ≤ maxBytes. */
export function sanitizeKey(key: string, maxBytes = MAX_KEY_BYTES): string {
    const clean = !/[\x00-\x20\x7f]/.test(key) && !SANITISED.test(key);
    if (clean && Buffer.byteLength(key) <= maxBytes) return key;
    const digest = createHash('sha256').update(key).digest('hex').slice(0, HASH_CHARS);
    const safe = key.replace(/[\x00-\x20\x7f]/g, '_');
    return `${cutToBytes(safe, maxBytes - HASH_CHARS - 1)}~${digest}`;
}

/** Cuts at a code point boundary so the result stays valid UTF-8. */
function cutToBytes(s: string, max: number): string {
    if (Buffer.byteLength(s) <= max) return s;
    let out = '';
    let used = 0;
    for (const ch of s) {
        const n = Buffer.byteLength(ch);
        if (used + n > max) break;
        out += ch;
        used += n;
    }
    return out;
}
