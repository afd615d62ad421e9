// SMTP AUTH checked by Dovecot itself (IMAP login on a real Dovecot): right and wrong passwords,
// the positive cache carrying a user through a Dovecot outage, and 454 (retry) — not 535 — when
// Dovecot cannot be asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImapAuthenticator } from '../../src/intake/auth.js';
import { startDovecot, PASSWORD, type TestDovecot } from '../helpers/dovecot.js';
import { LineClient, transaction } from '../helpers/lmtp-client.js';
import { startIntake, type TestIntake } from './intake-harness.js';
import { parseImapUrl } from '../../src/imap/target.js';

const MSG = Buffer.from('From: alice@example.org\r\nSubject: t\r\n\r\nhi\r\n');
const plain = (u: string, p: string) => Buffer.from(`\0${u}\0${p}`).toString('base64');

describe('AUTH against Dovecot', () => {
    let dovecot: TestDovecot;
    let intake: TestIntake;

    beforeAll(async () => {
        dovecot = await startDovecot({ extraConfig: 'auth_failure_delay = 0' }); // keep the test short
        intake = await startIntake(
            { smtpAccess: 'allow 127.0.0.2', untrusted: 'auth', imap: `imap://127.0.0.1:${dovecot.imapPort}`, tls: 'disabled', authCacheTtl: 60_000 },
            { lmtp: false }
        );
    });
    afterAll(async () => {
        await intake?.server.close();
        await dovecot?.destroy();
    });

    it('verifies passwords with an IMAP login and caches only successes', async () => {
        const auth = new ImapAuthenticator({ target: parseImapUrl(`imap://127.0.0.1:${dovecot.imapPort}`), cacheTtlMs: 60_000 });
        expect(await auth.verify('alice@example.org', PASSWORD)).toBe('ok');
        expect(await auth.verify('alice@example.org', 'nope')).toBe('invalid');
        expect(await auth.verify('nobody@example.org', PASSWORD)).toBe('invalid');
        await dovecot.stop();
        try {
            expect(await auth.verify('alice@example.org', PASSWORD)).toBe('ok'); // cached
            expect(await auth.verify('bob@example.org', PASSWORD)).toBe('unavailable');
        } finally {
            await dovecot.start();
        }
        const noCache = new ImapAuthenticator({ target: parseImapUrl(`imap://127.0.0.1:${dovecot.imapPort}`), cacheTtlMs: 0 });
        expect(await noCache.verify('bob@example.org', PASSWORD)).toBe('ok');
    });

    it('takes SMTP AUTH PLAIN and LOGIN from untrusted clients with Dovecot passwords', async () => {
        const c = await LineClient.connect(intake.port);
        try {
            await c.reply();
            await c.command('EHLO client.example');
            expect((await c.command(`AUTH PLAIN ${plain('alice@example.org', 'bad')}`)).code).toBe(535);
            expect((await c.command('AUTH LOGIN')).code).toBe(334);
            expect((await c.command(Buffer.from('alice@example.org').toString('base64'))).code).toBe(334);
            expect((await c.command(Buffer.from(PASSWORD).toString('base64'))).code).toBe(235);
            const r = await transaction(c, 'alice@example.org', ['bob@example.org'], MSG, false);
            expect(r.final.map(f => f.code)).toEqual([250]);
        } finally {
            c.close();
        }
    });

    it('answers 454 4.7.0 (try again) while Dovecot is down', async () => {
        await dovecot.stop();
        try {
            const c = await LineClient.connect(intake.port);
            await c.reply();
            await c.command('EHLO client.example');
            expect(await c.command(`AUTH PLAIN ${plain('carol@example.org', PASSWORD)}`)).toEqual({ code: 454, text: '4.7.0 Temporary authentication failure' });
            c.close();
        } finally {
            await dovecot.start();
        }
    });
});
