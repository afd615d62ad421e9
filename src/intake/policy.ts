// Who may talk to a listener and on what terms, as Cisco Unity Connection's SMTP server settings
// describe it: an IP access list (allow/deny, most specific wins); clients not on it ("untrusted
// IPs") are refused or must authenticate, with TLS disabled, optional or required for them.
// Defaults are secure: a loopback listener trusts everyone who can reach it (only local
// processes can); any other listener trusts only loopback until an access list is given.
import type { Config } from '../config.js';
import { ConfigError } from '../config.js';
import { AccessList, isLoopback } from '../net/access.js';
import { formatUsername } from './username.js';

export type TlsMode = 'disabled' | 'optional' | 'required';
export type Trust = 'trusted' | 'untrusted';
export type Admission = { trust: Trust; rule?: string; named?: boolean } | { refused: string; rule?: string };

export type PolicyConfig = Pick<Config, 'lmtpAccess' | 'smtpAccess' | 'untrusted' | 'tls' | 'tlsCert' | 'tlsKey' | 'imap' | 'usernameFormat'>;

export const LOOPBACK_ONLY = 'allow 127.0.0.0/8, allow ::1';

export class ListenerPolicy {
    readonly access: AccessList;
    readonly accessSpec: string | readonly string[];
    readonly untrusted: 'refuse' | 'auth';
    readonly tls: TlsMode;
    /** No access list was given: the listener's default applies. */
    readonly defaultAccess: boolean;

    /** Throws ConfigError for combinations an administrator would regret (see docs/policy.md). */
    constructor(config: PolicyConfig, kind: 'lmtp' | 'smtp', listenHost: string) {
        const given = kind === 'lmtp' ? config.lmtpAccess : config.smtpAccess;
        this.accessSpec = given ?? (isLoopback(listenHost) ? 'allow *' : LOOPBACK_ONLY);
        this.defaultAccess = given === undefined;
        this.access = new AccessList(this.accessSpec);
        this.untrusted = config.untrusted;
        const hasPair = Boolean(config.tlsCert && config.tlsKey);
        this.tls = config.tls ?? (hasPair ? 'required' : 'disabled');
        if (this.tls !== 'disabled' && !hasPair) {
            throw new ConfigError(`invalid option --tls: ${this.tls} needs --tls-cert and --tls-key`);
        }
        if (this.untrusted === 'auth') {
            if (!config.imap) throw new ConfigError('invalid option --untrusted: auth needs --imap (passwords are checked by Dovecot)');
            if (!config.tls && this.tls === 'disabled') {
                throw new ConfigError('invalid option --untrusted: auth would take passwords in clear text; give --tls-cert and --tls-key, or --tls disabled explicitly');
            }
        }
    }

    /** Decides at connect time. Refusals carry the reply text for 554 5.7.1. */
    admit(address: string): Admission {
        const entry = this.access.match(address);
        if (entry?.verdict === 'deny') return { refused: 'access denied', rule: entry.source };
        if (entry) return { trust: 'trusted', rule: entry.source, named: entry.prefix > 0 };
        if (this.untrusted === 'refuse') return { refused: 'access denied (untrusted address)' };
        return { trust: 'untrusted' };
    }

    /**
     * Whether the per-address connection cap applies. Not to clients an allow entry names (the
     * MTAs), nor to loopback peers under the default access list (every local process, the MTA
     * among them, has the same address: a cap there lets any local user lock the MTA out). Those
     * are bounded by the listener's total cap and the hello timeout; an explicit `allow *` keeps
     * the cap for everyone. A unix socket never gets here.
     */
    perAddressCapped(address: string, admission: Admission): boolean {
        if ('refused' in admission || admission.trust !== 'trusted') return true;
        return !(admission.named || (this.defaultAccess && isLoopback(address)));
    }

    /**
     * Commands a session may use: trusted clients never AUTH; STARTTLS only when TLS is on; with
     * TLS required, AUTH is neither offered nor taken before STARTTLS (RFC 3207: credentials
     * never travel, nor are invited, in clear text). Asked again once the session is secure.
     */
    disabledCommands(trust: Trust, secure = false): string[] {
        const noAuth = trust === 'trusted' || (this.tls === 'required' && !secure);
        return [...(noAuth ? ['AUTH'] : []), ...(this.tls === 'disabled' ? ['STARTTLS'] : [])];
    }
}

/**
 * An authenticated sender may use its own addresses only: MAIL FROM mapped with
 * --username-format (as a RCPT would be) must be the authenticated username. The null sender
 * (receipts, MDNs) is allowed: it claims no one's address.
 */
export function senderAllowed(usernameFormat: string, user: string, mailFrom: string): boolean {
    if (mailFrom === '') return true;
    const u = user.toLowerCase();
    return mailFrom.toLowerCase() === u || formatUsername(usernameFormat, mailFrom).toLowerCase() === u;
}
