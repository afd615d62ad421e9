// The AUTH failure limit holds against parallel attempts (issue 17, item 5): 50 concurrent AUTH
// attempts from one address → at most the limit (10) reach the password check, the rest get
// 421 4.7.0 at once; a success gives its reservation back. Against a real Dovecot, the client's
// address travels in IMAP ID (x-originating-ip), so Dovecot logs (and penalises) the client,
// not vmbridge's address, when vmbridge is in its login_trusted_networks.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator } from '../../src/intake/auth.js';
import { startDovecot, PASSWORD, type TestDovecot } from '../helpers/dovecot.js';
import { LineClient } from '../helpers/lmtp-client.js';
import { waitFor } from '../helpers/net.js';
import { startIntake, type TestIntake } from './intake-harness.js';

const plain = (u: string, p: string) => Buffer.from(`\0${u}\0${p}`).toString('base64');
const UNTRUSTED = { smtpAccess: 'allow 127.0.0.2', untrusted: 'auth', imap: 'imap://127.0.0.1:1', tls: 'disabled' };

async function attempt(port: number, user: string, pass: string, localAddress?: string): Promise<number> {
    const c = await LineClient.connect(port, '127.0.0.1', localAddress);
    try {
        await c.reply();
        await c.command('EHLO x.example');
        return (await c.command(`AUTH PLAIN ${plain(user, pass)}`)).code;
    } finally {
        c.sock.destroy();
    }
}

describe('parallel AUTH attempts', () => {
    let intake: TestIntake | undefined;
    afterEach(async () => {
        await intake?.server.close();
        intake = undefined;
    });

    it('checks at most the limit of 50 concurrent guesses; the rest get 421 without a check', async () => {
        // every check waits until all 50 clients have sent AUTH: a check-then-count race would let all through
        let checks = 0;
        let release!: () => void;
        const gate = new Promise<void>(r => (release = r));
        const slow: Authenticator = {
            async verify() {
                checks++;
                await gate;
                return 'invalid';
            }
        };
        intake = await startIntake(UNTRUSTED, { lmtp: false, authenticator: slow });
        const port = intake.port;
        let refused = 0;
        const replies = Array.from({ length: 50 }, (_, i) => attempt(port, 'alice@example.org', `guess${i}`).then(code => (code === 421 && refused++, code)));
        // the 40 over the limit are answered while the 10 checks are still held at the gate
        await waitFor(() => refused === 40, 10_000, '40 refusals before any check finished');
        expect(checks).toBe(10);
        release();
        const codes = await Promise.all(replies);
        expect(checks).toBe(10);
        expect(codes.filter(c => c === 535)).toHaveLength(10);
        expect(codes.filter(c => c === 421)).toHaveLength(40);
    });

    it('a success does not use up the allowance', async () => {
        let checks = 0;
        const auth: Authenticator = {
            async verify(user, pass) {
                checks++;
                return pass === 'right' ? 'ok' : 'invalid';
            }
        };
        intake = await startIntake(UNTRUSTED, { lmtp: false, authenticator: auth });
        for (let i = 0; i < 20; i++) expect(await attempt(intake.port, 'alice@example.org', 'right')).toBe(235);
        const codes = [];
        for (let i = 0; i < 11; i++) codes.push(await attempt(intake.port, 'alice@example.org', 'wrong'));
        expect(codes).toEqual([...Array(10).fill(535), 421]);
        expect(checks).toBe(30);
    });
});

describe('the client address reaches Dovecot', () => {
    let dovecot: TestDovecot;
    let intake: TestIntake;
    beforeAll(async () => {
        dovecot = await startDovecot({ extraConfig: 'auth_failure_delay = 0\nlogin_trusted_networks = 127.0.0.1/32\nauth_verbose = yes' });
        intake = await startIntake({ ...UNTRUSTED, imap: `imap://127.0.0.1:${dovecot.imapPort}`, authCacheTtl: 0 }, { lmtp: false });
    });
    afterAll(async () => {
        await intake?.server.close();
        await dovecot?.destroy();
    });

    it('Dovecot logs the SMTP client (x-originating-ip), not vmbridge, for failed and good logins', async () => {
        expect(await attempt(intake.port, 'alice@example.org', 'wrong', '127.0.0.9')).toBe(535);
        expect(await attempt(intake.port, 'bob@example.org', PASSWORD, '127.0.0.10')).toBe(235);
        const log = await waitFor(
            () => {
                const l = dovecot.log;
                return /user=<alice@example\.org>.*rip=127\.0\.0\.9\b/.test(l) && /user=<bob@example\.org>.*rip=127\.0\.0\.10\b/.test(l) ? l : undefined;
            },
            10_000,
            'Dovecot log lines with the client addresses'
        );
        expect(log).not.toMatch(/user=<(alice|bob)@example\.org>.*rip=127\.0\.0\.1,/);
    });

    it('50 concurrent guesses cost Dovecot 10 password checks', async () => {
        const codes = await Promise.all(Array.from({ length: 50 }, (_, i) => attempt(intake.port, 'carol@example.org', `guess${i}`, '127.0.0.11')));
        expect(codes.filter(c => c === 535)).toHaveLength(10);
        expect(codes.filter(c => c === 421)).toHaveLength(40);
        // every check has answered (all 50 replies are in): Dovecot logged each one it made
        const checked = () => dovecot.log.split('\n').filter(l => /user=<carol@example\.org>.*rip=127\.0\.0\.11\b/.test(l) && /auth failed/i.test(l));
        await waitFor(() => checked().length >= 10, 10_000, 'Dovecot auth failures logged');
        expect(checked()).toHaveLength(10);
    });
});
