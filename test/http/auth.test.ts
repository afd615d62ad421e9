// HttpAuth with a fake Dovecot login check: rate limits per user and per address, refusals alike.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../../src/intake/auth.js';
import { HttpAuth } from '../../src/http/auth.js';
import { parseDuration, TokenStore } from '../../src/http/tokens.js';
import { basic, bearer } from './clients.js';

class FakeDovecot implements Authenticator {
    calls = 0;
    async verify(user: string, password: string) {
        this.calls++;
        return user === 'carol' && password === 'right' ? 'ok' : 'invalid';
    }
}

const stores: TokenStore[] = [];
afterEach(() => stores.splice(0).forEach(s => s.close()));

function setup() {
    const tokens = new TokenStore(mkdtempSync(path.join(tmpdir(), 'vmb-tokens-')));
    stores.push(tokens);
    const dovecot = new FakeDovecot();
    return { tokens, dovecot, auth: new HttpAuth({ tokens, basic: dovecot }) };
}

describe('client listener authentication', () => {
    it('failures are limited per user: after 5, even the right password waits, Dovecot is not asked', async () => {
        const { auth, dovecot } = setup();
        for (let i = 0; i < 5; i++) expect(await auth.check(basic('carol', `wrong${i}`), { ip: `10.0.0.${i}` })).toEqual({ ok: false, status: 401 });
        expect(await auth.check(basic('carol', 'right'), { ip: '10.0.1.1' })).toEqual({ ok: false, status: 429 });
        expect(dovecot.calls).toBe(5);
    });

    it('failures are limited per address, whatever the user or scheme', async () => {
        const { auth } = setup();
        for (let i = 0; i < 10; i++) await auth.check(i % 2 ? basic(`u${i}`, 'x') : bearer(`vmb_x_${i}`), { ip: '192.0.2.7' });
        expect(await auth.check(basic('carol', 'right'), { ip: '192.0.2.7' })).toEqual({ ok: false, status: 429 });
        expect(await auth.check(basic('carol', 'right'), { ip: '192.0.2.8' })).toMatchObject({ ok: true, principal: { user: 'carol', admin: false } });
    });

    it('tokens: hashed at rest, admin flag, expiry, revocation; malformed headers refused alike', async () => {
        const { auth, tokens } = setup();
        const { token, info } = tokens.create('alice', { admin: true });
        expect(await auth.check(bearer(token), { ip: '::1' })).toEqual({ ok: true, principal: { user: 'alice', admin: true } });
        const short = tokens.create('bob', { expiresMs: 1000 }, Date.now() - 2000).token;
        expect(tokens.verify(short)).toBeUndefined();
        expect(tokens.list().map(t => t.id)).toContain(info.id);
        // the secret after `vmb_<id>_` (base64url: it may hold `_` itself)
        expect(JSON.stringify(tokens.list())).not.toContain(token.slice(`vmb_${info.id}_`.length));
        expect(tokens.revoke(info.id)).toBe(true);
        expect(await auth.check(bearer(token), { ip: '::1' })).toEqual({ ok: false, status: 401 });
        for (const h of [undefined, 'Basic', 'Basic !!!', 'Digest x', basic('', 'p')]) expect(await auth.check(h, { ip: '::2' })).toMatchObject({ ok: false, status: 401 });
    });

    it('a Basic user is named as Dovecot formats it (--username-format %Lu)', async () => {
        const tokens = new TokenStore(mkdtempSync(path.join(tmpdir(), 'vmb-tokens-')));
        stores.push(tokens);
        const auth = new HttpAuth({ tokens, usernameFormat: '%Lu', basic: { verify: async () => 'ok' } });
        expect(await auth.check(basic('Carol@Example.ORG', 'pw'), { ip: '::1' })).toEqual({ ok: true, principal: { user: 'carol@example.org', admin: false } });
    });

    it('durations', () => {
        expect(parseDuration('90s')).toBe(90_000);
        expect(parseDuration('30d')).toBe(30 * 86_400_000);
        expect(() => parseDuration('5 weeks')).toThrow();
    });
});
