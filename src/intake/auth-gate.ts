// SMTP AUTH for untrusted clients (docs/policy.md): TLS first when required, no authorization
// identity other than the login, and a failure allowance per client address that is reserved
// *before* the password check — parallel guesses over many connections get no more checks than
// sequential ones. The check itself (auth.ts) is Dovecot's, told the client's address.
import type { SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerSession } from 'smtp-server';
import { SmtpError } from '../deliver/deliverer.js';
import type { Logger } from '../log.js';
import * as metrics from '../metrics.js';
import type { Authenticator, AuthResult } from './auth.js';
import { RateLimiter } from '../net/ratelimit.js';
import { reply } from '../smtp/replies.js';

const tooMany = reply.tooManyAuthFailures;

export class AuthGate {
    /** Failed AUTH attempts per client address: 10 at once, then one every 6 s. */
    private readonly failures = new RateLimiter({ perSecond: 1 / 6, burst: 10 });

    constructor(private readonly log: Logger) {}

    async check(
        auth: SMTPServerAuthentication,
        session: SMTPServerSession,
        client: { ip: string; tlsRequired: boolean },
        authenticator: Authenticator
    ): Promise<SMTPServerAuthenticationResponse> {
        const { ip } = client;
        const fail = (reason: string, err: SmtpError) => {
            metrics.intakeRefusals.inc({ reason });
            this.log.warn({ session: session.id, ip, user: auth.username, reason }, 'authentication refused');
            return err;
        };
        if (client.tlsRequired && !session.secure) throw fail('tls', reply.encryptionRequired());
        // reserve the attempt before anything is checked: every attempt in flight holds a token,
        // so at most `burst` are ever checked at once; a success (or Dovecot down) refunds it
        if (!this.failures.take(ip)) throw fail('auth', tooMany());
        // PLAIN may name someone else as authorization identity: never act on another's behalf
        if (auth.authzid && auth.authcid && auth.authzid !== auth.authcid) throw fail('auth', reply.authzidRefused());
        let result: AuthResult;
        try {
            result = await authenticator.verify(auth.username ?? '', auth.password ?? '', { ip, port: session.remotePort });
        } catch {
            result = 'unavailable';
        }
        if (result !== 'invalid') this.failures.refund(ip);
        if (result === 'ok') {
            this.log.info({ session: session.id, ip, user: auth.username }, 'authenticated');
            return { user: auth.username };
        }
        if (result === 'unavailable') throw fail('auth', reply.authUnavailable());
        throw fail('auth', reply.authInvalid());
    }
}
