// Pure policy pieces: access list matching, listener defaults and refusals of unsafe settings,
// the sender rule for authenticated clients, and the connection and rate limiters.
import { describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../../src/config.js';
import { AccessList, ipToBigInt, isLoopback, parseAccessList } from '../../src/net/access.js';
import { ConnectionLimiter } from '../../src/intake/connections.js';
import { ListenerPolicy, senderAllowed } from '../../src/intake/policy.js';
import { RateLimiter } from '../../src/net/ratelimit.js';

const verdict = (list: AccessList, ip: string) => list.match(ip)?.verdict ?? 'none';

describe('access list', () => {
    it('lets the most specific entry win, in any order, IPv4 and IPv6', () => {
        const list = new AccessList('allow *, deny 10.0.0.0/8, allow 10.1.2.3, deny 2001:db8::/32, allow 2001:db8:1::/48');
        expect(verdict(list, '10.1.2.3')).toBe('allow');
        expect(verdict(list, '10.1.2.4')).toBe('deny');
        expect(verdict(list, '192.0.2.1')).toBe('allow');
        expect(verdict(list, '2001:db8:1::5')).toBe('allow');
        expect(verdict(list, '2001:db8:2::5')).toBe('deny');
        expect(verdict(list, '2001:db9::1')).toBe('allow');
    });

    it('treats IPv4-mapped IPv6 as the IPv4 address', () => {
        const list = new AccessList(['deny 192.0.2.0/24']);
        expect(verdict(list, '::ffff:192.0.2.7')).toBe('deny');
        expect(verdict(list, '::FFFF:c000:0207')).toBe('deny');
        expect(verdict(list, '192.0.3.7')).toBe('none');
        expect(ipToBigInt('::ffff:1.2.3.4')).toBe(ipToBigInt('1.2.3.4'));
    });

    it('prefers deny on a tie and matches nothing for garbage addresses', () => {
        const list = new AccessList('allow 192.0.2.1, deny 192.0.2.1');
        expect(verdict(list, '192.0.2.1')).toBe('deny');
        expect(verdict(list, 'not-an-ip')).toBe('none');
    });

    it('recognises loopback in every spelling', () => {
        for (const a of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '[::1]']) expect(isLoopback(a)).toBe(true);
        for (const a of ['10.0.0.1', '::2', '0.0.0.0', '::', 'localhost']) expect(isLoopback(a)).toBe(false);
    });

    it.each(['permit 1.2.3.4', 'allow 1.2.3.4/33', 'allow 300.1.1.1', 'allow ::1/129', 'allow 1.2.3.4/8/9', 'deny'])('refuses "%s" with a message', spec => {
        expect(() => parseAccessList(spec)).toThrow(/access entry/);
    });

    it('is validated by the config schema, as a string or a JSON list', () => {
        expect(loadConfig({ lmtpAccess: ['allow 10.0.0.0/8', 'deny *'] }, {}).lmtpAccess).toEqual(['allow 10.0.0.0/8', 'deny *']);
        expect(() => loadConfig({ smtpAccess: 'allow 10.0.0.0/40' }, {})).toThrow(/--smtp-access: access entry/);
        expect(loadConfig({}, { VMBRIDGE_LMTP_ACCESS: 'allow 192.0.2.0/24' }).lmtpAccess).toBe('allow 192.0.2.0/24');
    });
});

describe('listener policy', () => {
    const base = loadConfig({}, {});

    it('trusts everyone on a loopback listener and only loopback elsewhere by default', () => {
        const lo = new ListenerPolicy(base, 'lmtp', '127.0.0.1');
        expect(lo.admit('192.0.2.1')).toMatchObject({ trust: 'trusted' });
        const any = new ListenerPolicy(base, 'lmtp', '0.0.0.0');
        expect(any.admit('127.0.0.1')).toMatchObject({ trust: 'trusted' });
        expect(any.admit('::1')).toMatchObject({ trust: 'trusted' });
        expect(any.admit('192.0.2.1')).toMatchObject({ refused: expect.stringMatching(/untrusted/) });
    });

    it('applies each listener its own list and refuses denied addresses', () => {
        const c = loadConfig({ lmtpAccess: 'allow 10.0.0.0/8', smtpAccess: 'deny 10.0.0.0/8, allow *' }, {});
        expect(new ListenerPolicy(c, 'lmtp', '0.0.0.0').admit('10.1.1.1')).toMatchObject({ trust: 'trusted' });
        expect(new ListenerPolicy(c, 'smtp', '0.0.0.0').admit('10.1.1.1')).toMatchObject({ refused: 'access denied', rule: 'deny 10.0.0.0/8' });
    });

    it('admits untrusted clients for AUTH only when asked, with AUTH and STARTTLS per session', () => {
        const c = loadConfig({ smtpAccess: 'allow 10.0.0.0/8', untrusted: 'auth', imap: 'imap://127.0.0.1:143', tls: 'disabled' }, {});
        const p = new ListenerPolicy(c, 'smtp', '0.0.0.0');
        expect(p.admit('192.0.2.1')).toEqual({ trust: 'untrusted' });
        expect(p.disabledCommands('untrusted')).toEqual(['STARTTLS']);
        expect(p.disabledCommands('trusted')).toEqual(['AUTH', 'STARTTLS']);
    });

    it('refuses settings an administrator would regret, naming the option', () => {
        const bad = (flags: Record<string, unknown>) => () => new ListenerPolicy(loadConfig(flags, {}), 'smtp', '0.0.0.0');
        expect(bad({ untrusted: 'auth', tls: 'disabled' })).toThrow(/--untrusted: auth needs --imap/);
        expect(bad({ untrusted: 'auth', imap: 'imap://h:143' })).toThrow(/clear text/);
        expect(bad({ tls: 'required' })).toThrow(/--tls: required needs --tls-cert/);
        expect(bad({ tls: 'required' })).toThrow(ConfigError);
    });

    it('defaults TLS to required for untrusted clients once a certificate is given', () => {
        const p = new ListenerPolicy(loadConfig({ tlsCert: '/c', tlsKey: '/k' }, {}), 'smtp', '0.0.0.0');
        expect(p.tls).toBe('required');
        expect(p.disabledCommands('untrusted')).toEqual(['AUTH']); // not offered before STARTTLS
        expect(p.disabledCommands('untrusted', true)).toEqual([]);
    });
});

describe('sender rule for authenticated clients', () => {
    it("accepts the user's own address (mapped with --username-format) and the null sender", () => {
        expect(senderAllowed('%Lu', 'alice@example.org', 'Alice@Example.org')).toBe(true);
        expect(senderAllowed('%Ln', 'alice', 'alice@example.org')).toBe(true);
        expect(senderAllowed('%Lu', 'alice@example.org', '')).toBe(true);
        expect(senderAllowed('%Lu', 'alice@example.org', 'bob@example.org')).toBe(false);
        expect(senderAllowed('%Lu', 'alice', 'alice@example.org')).toBe(false);
    });
});

describe('limiters', () => {
    it('counts connections per address (mapped = IPv4) and in total', () => {
        const l = new ConnectionLimiter(3, 2);
        expect(l.acquire('10.0.0.1')).toBeUndefined();
        expect(l.acquire('::ffff:10.0.0.1')).toBeUndefined();
        expect(l.acquire('10.0.0.1')).toBe('per-ip');
        expect(l.acquire('10.0.0.2')).toBeUndefined();
        expect(l.acquire('10.0.0.3')).toBe('total');
        l.release('10.0.0.1');
        expect(l.open).toBe(2);
        expect(l.acquire('10.0.0.3')).toBeUndefined();
        l.release('10.9.9.9'); // never counted: ignored
        expect(l.open).toBe(3);
    });

    it('rate-limits per key with a refilling bucket and a bounded key map', () => {
        let now = 0;
        const r = new RateLimiter({ perSecond: 2, burst: 3, maxKeys: 2 }, () => now);
        expect([r.take('a'), r.take('a'), r.take('a'), r.take('a')]).toEqual([true, true, true, false]);
        expect(r.retryAfter('a')).toBe(1);
        expect(r.take('b')).toBe(true);
        now = 500;
        expect(r.take('a')).toBe(true);
        expect(r.take('a')).toBe(false);
        r.take('c'); // evicts the least recently used key (b)
        expect(r.take('b', 3)).toBe(true); // b starts over with a full bucket
        expect(r.take('x', 4)).toBe(false); // more than the burst never fits
    });
});
