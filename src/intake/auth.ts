// SMTP AUTH checked against Dovecot's own authentication: an IMAP LOGIN with the client's
// credentials on --imap's host and port (imap:// or imaps://), never a user list of our own.
// Successes are cached briefly (keyed by a salted hash of user and password, never the password)
// so a client that sends a message per connection does not cost an IMAP login each time. The
// client's own address goes along in IMAP ID (x-originating-ip), so Dovecot's auth penalty and
// its logs hit the guessing client, not every user behind vmbridge's address.
import { createHash, randomBytes } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import type { ImapTarget } from '../imap/target.js';
import { AUTH_CACHE_MAX, IMAP_TIMEOUT_MS } from '../limits.js';

export type AuthResult = 'ok' | 'invalid' | 'unavailable';

/** The SMTP client's address, passed on to Dovecot so its auth penalty and logs name the client. */
export interface AuthClient {
    ip: string;
    port?: number;
}

export interface Authenticator {
    verify(user: string, password: string, client?: AuthClient): Promise<AuthResult>;
}

export interface ImapAuthOptions {
    /** --imap's host, port and TLS (no user is needed: each login is the client's own). */
    target: Pick<ImapTarget, 'host' | 'port' | 'secure'>;
    cacheTtlMs: number;
    timeoutMs?: number;
    /** Bounds the cache; the oldest entries go first. */
    maxEntries?: number;
}

export class ImapAuthenticator implements Authenticator {
    private readonly host: string;
    private readonly port: number;
    private readonly secure: boolean;
    private readonly salt = randomBytes(16);
    private readonly cache = new Map<string, number>();

    constructor(private readonly opts: ImapAuthOptions) {
        ({ host: this.host, port: this.port, secure: this.secure } = opts.target);
    }

    async verify(user: string, password: string, client?: AuthClient): Promise<AuthResult> {
        if (!user || !password) return 'invalid';
        const key = createHash('sha256').update(this.salt).update(user).update('\0').update(password).digest('base64');
        const until = this.cache.get(key);
        if (until !== undefined && until > Date.now()) return 'ok';
        this.cache.delete(key);
        const result = await this.login(user, password, client);
        if (result === 'ok' && this.opts.cacheTtlMs > 0) this.remember(key);
        return result;
    }

    private remember(key: string): void {
        if (this.cache.size >= (this.opts.maxEntries ?? AUTH_CACHE_MAX)) this.cache.delete(this.cache.keys().next().value as string);
        this.cache.set(key, Date.now() + this.opts.cacheTtlMs);
    }

    private async login(user: string, pass: string, from?: AuthClient): Promise<AuthResult> {
        const timeout = this.opts.timeoutMs ?? IMAP_TIMEOUT_MS;
        const client = new ImapFlow({
            host: this.host,
            port: this.port,
            secure: this.secure,
            auth: { user, pass },
            logger: false,
            connectionTimeout: timeout,
            greetingTimeout: timeout,
            socketTimeout: timeout,
            disableAutoIdle: true,
            // IMAP ID before LOGIN: Dovecot takes the client's address from it when vmbridge's
            // address is in its login_trusted_networks (else it ignores it and sees vmbridge)
            clientInfo: from && { name: 'vmbridge', 'x-originating-ip': from.ip, ...(from.port ? { 'x-originating-port': String(from.port) } : {}) }
        });
        client.on('error', () => undefined); // reported through connect()'s rejection
        try {
            await client.connect();
            return 'ok';
        } catch (err) {
            const e = err as { authenticationFailed?: boolean; serverResponseCode?: string };
            // Dovecot says [UNAVAILABLE] when its auth backend is down: a retry may succeed
            return e.authenticationFailed && e.serverResponseCode !== 'UNAVAILABLE' ? 'invalid' : 'unavailable';
        } finally {
            client.close();
        }
    }
}
