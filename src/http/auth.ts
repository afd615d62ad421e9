// Who is asking, for the client listener. Bearer app tokens (tokens.ts) or Basic with the user's
// Dovecot credentials, checked by an IMAP login (intake/auth.ts: cached by a salted hash, the
// client's address passed on to Dovecot). Failed attempts are rate-limited per address and per
// user before Dovecot is asked. Every refusal looks the same to the client (no hint which part was
// wrong); credentials are never logged.
import type { IncomingMessage } from 'node:http';
import type { Authenticator } from '../intake/auth.js';
import { RateLimiter } from '../net/ratelimit.js';
import type { TokenStore } from './tokens.js';
import { formatUsername } from '../intake/username.js';
import { HTTP_AUTH_FAILURES_PER_IP, HTTP_AUTH_FAILURES_PER_USER } from '../limits.js';

export interface Principal {
    user: string;
    admin: boolean;
}

export type AuthOutcome = { ok: true; principal: Principal } | { ok: false; status: 401 | 429 | 503 };

export interface HttpAuthOptions {
    tokens: TokenStore;
    /** Dovecot's auth_username_format (--username-format): the signed-in name as events carry it. */
    usernameFormat?: string;
    /** Dovecot login check; without it only tokens are accepted. */
    basic?: Authenticator;
}

export class HttpAuth {
    private readonly perIp = new RateLimiter(HTTP_AUTH_FAILURES_PER_IP);
    private readonly perUser = new RateLimiter(HTTP_AUTH_FAILURES_PER_USER);

    constructor(private readonly opts: HttpAuthOptions) {}

    /** `header` is the Authorization value (or a token given another way, e.g. `Bearer x`). */
    async check(header: string | undefined, peer: { ip: string; port?: number }): Promise<AuthOutcome> {
        const [scheme, value] = (header ?? '').split(' ', 2);
        if (!value) return { ok: false, status: 401 };
        // A guessing address is stopped before anything is looked up.
        if (this.perIp.retryAfter(peer.ip) > 0) return { ok: false, status: 429 };
        if (/^bearer$/i.test(scheme)) {
            const t = this.opts.tokens.verify(value.trim());
            if (t) return { ok: true, principal: { user: t.user, admin: t.admin } };
            this.perIp.take(peer.ip);
            return { ok: false, status: 401 };
        }
        if (!/^basic$/i.test(scheme) || !this.opts.basic) {
            this.perIp.take(peer.ip);
            return { ok: false, status: 401 };
        }
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const user = colon > 0 ? decoded.slice(0, colon) : '';
        const pass = colon > 0 ? decoded.slice(colon + 1) : '';
        if (!user || !pass || user.length > 512) {
            this.perIp.take(peer.ip);
            return { ok: false, status: 401 };
        }
        const userKey = user.toLowerCase();
        if (this.perUser.retryAfter(userKey) > 0) return { ok: false, status: 429 };
        const r = await this.opts.basic.verify(user, pass, peer);
        // Dovecot accepted `Alice@Example.org` as alice@example.org: events carry the formatted name
        if (r === 'ok') return { ok: true, principal: { user: this.opts.usernameFormat ? formatUsername(this.opts.usernameFormat, user) : user, admin: false } };
        if (r === 'unavailable') return { ok: false, status: 503 };
        this.perIp.take(peer.ip);
        this.perUser.take(userKey);
        return { ok: false, status: 401 };
    }
}

/** The client's address as the socket sees it (no proxy headers are trusted). */
export function peerOf(req: IncomingMessage): { ip: string; port?: number } {
    return { ip: req.socket.remoteAddress ?? '', port: req.socket.remotePort };
}
