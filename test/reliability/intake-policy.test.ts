// Intake policy and limits against a live listener (in-memory downstream): access list refusals
// at the greeting, connection limits, size (declared and lied about), recipients, timeouts,
// AUTH and STARTTLS for untrusted clients, sender ownership, reload and draining.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../../src/intake/auth.js';
import { dataPayload, LineClient, send, transaction } from '../helpers/lmtp-client.js';
import { waitFor } from '../helpers/net.js';
import { ClientPool, startIntake, type TestIntake } from './intake-harness.js';
import { makeCert } from './tls-cert.js';

const MSG = Buffer.from('From: a@example.org\r\nTo: b@example.org\r\nSubject: t\r\n\r\nhello\r\n');
let intake: TestIntake | undefined;
const pool = new ClientPool();
const connect = (port: number) => pool.connect(port);

afterEach(async () => {
    pool.closeAll();
    await intake?.server.close();
    intake = undefined;
});

const closedSoon = (c: LineClient) => waitFor(async () => (await c.line()).startsWith('421 connection closed'), 3000, 'close');

/** Accepts alice@example.org / right, refuses everything else. */
const fakeAuth: Authenticator & { calls: number } = {
    calls: 0,
    async verify(user, pass) {
        this.calls++;
        return user === 'alice@example.org' && pass === 'right' ? 'ok' : 'invalid';
    }
};
const plain = (u: string, p: string, z = '') => Buffer.from(`${z}\0${u}\0${p}`).toString('base64');

describe('access list at the greeting', () => {
    it('refuses a denied address with 554 5.7.1 and closes', async () => {
        intake = await startIntake({ lmtpAccess: 'allow *, deny 127.0.0.1' });
        const { c, greeting } = await connect(intake.port);
        expect(greeting).toBe('554 5.7.1 access denied');
        await closedSoon(c);
        expect(intake.deliverer.begun).toBe(0);
    });

    it('refuses untrusted addresses with --untrusted refuse, admits listed ones', async () => {
        intake = await startIntake({ lmtpAccess: 'allow 127.0.0.2' });
        expect((await connect(intake.port)).greeting).toBe('554 5.7.1 access denied (untrusted address)');
        intake.server.reload({ ...intake.config, lmtpAccess: 'allow 127.0.0.0/8' });
        expect((await connect(intake.port)).greeting).toMatch(/^220 /);
    });

    it('keeps the old policy when a reload brings a bad one', async () => {
        intake = await startIntake({ lmtpAccess: 'allow *' });
        intake.server.reload({ ...intake.config, tls: 'required' }); // no certificate: refused
        expect((await connect(intake.port)).greeting).toMatch(/^220 /);
    });
});

describe('connection limits', () => {
    it('answers 421 4.7.0 over the per-address limit and admits again after a close', async () => {
        intake = await startIntake({ lmtpAccess: 'allow *', maxConnectionsPerIp: 2 }); // `*` names no MTA: capped
        const a = await connect(intake.port);
        await connect(intake.port);
        const third = await connect(intake.port);
        expect(third.greeting).toBe('421 4.7.0 Too many connections from your address, try again later');
        a.c.sock.destroy();
        await waitFor(async () => (await connect(intake!.port)).greeting.startsWith('220'), 3000, 'slot freed');
    });

    it('answers 421 4.7.0 over the total limit', async () => {
        intake = await startIntake({ maxConnections: 1 });
        await connect(intake.port);
        expect((await connect(intake.port)).greeting).toBe('421 4.7.0 Too many connections, try again later');
    });
});

describe('message limits', () => {
    it('advertises SIZE and refuses a declared oversize at MAIL with 552 5.3.4', async () => {
        intake = await startIntake({ maxSize: 1000 });
        const { c } = await connect(intake.port);
        expect((await c.command('LHLO x.example')).text).toMatch(/^SIZE 1000$/m);
        const r = await c.command('MAIL FROM:<a@example.org> SIZE=1001');
        expect(`${r.code} ${r.text}`).toMatch(/^552 5\.3\.4 /);
    });

    it.each([true, false])('refuses a message larger than its SIZE claim with 552 5.3.4 and stores nothing (lmtp=%s)', async lmtp => {
        intake = await startIntake({ maxSize: 1000 }, { lmtp });
        const { c } = await connect(intake.port);
        await c.command(`${lmtp ? 'LHLO' : 'EHLO'} x.example`);
        expect((await c.command('MAIL FROM:<a@example.org> SIZE=500')).code).toBe(250);
        await c.command('RCPT TO:<b@example.org>');
        await c.command('RCPT TO:<c@example.org>');
        expect((await c.command('DATA')).code).toBe(354);
        c.write(dataPayload(Buffer.concat([MSG, Buffer.alloc(200_000, 'x\r\n')])));
        const replies = [await c.reply(), ...(lmtp ? [await c.reply()] : [])];
        for (const r of replies) expect(`${r.code} ${r.text}`).toMatch(/^552 5\.3\.4 /);
        expect(intake.deliverer.stored).toHaveLength(0);
        expect(intake.deliverer.aborted).toBe(1);
        // the session goes on: the next message within the limit is stored
        const ok = await transaction(c, 'a@example.org', ['b@example.org'], MSG, lmtp);
        expect(ok.final.map(f => f.code)).toEqual([250]);
        expect(intake.deliverer.stored).toHaveLength(1);
    });

    it('answers 452 4.5.3 past the recipient limit and delivers to the accepted ones', async () => {
        intake = await startIntake({ maxRecipients: 3 });
        const r = await send(intake.port, 'a@example.org', ['r1@x.org', 'r2@x.org', 'r3@x.org', 'r4@x.org'], MSG);
        expect(r.rcpt.map(x => x.code)).toEqual([250, 250, 250, 452]);
        expect(r.rcpt[3].text).toMatch(/^4\.5\.3 /);
        expect(r.final.map(x => x.code)).toEqual([250, 250, 250]);
        expect(intake.deliverer.stored.map(s => s.rcpt.address)).toEqual(['r1@x.org', 'r2@x.org', 'r3@x.org']);
    });
});

describe('timeouts', () => {
    it('closes an idle connection after the command timeout with 421', async () => {
        intake = await startIntake({ commandTimeout: 300 });
        const { c } = await connect(intake.port);
        const r = await c.reply();
        expect(`${r.code} ${r.text}`).toMatch(/^421 4\.4\.2 .*[Tt]imeout/);
    });

    it('abandons a DATA that trickles past the data timeout: 421, nothing stored', async () => {
        intake = await startIntake({ commandTimeout: 5000, dataTimeout: 400 });
        const { c } = await connect(intake.port);
        await c.command('LHLO x.example');
        await c.command('MAIL FROM:<a@example.org>');
        await c.command('RCPT TO:<b@example.org>');
        await c.command('DATA');
        const trickle = setInterval(() => c.write('x'), 50);
        try {
            const r = await c.reply();
            expect(`${r.code} ${r.text}`).toBe('421 4.4.2 DATA timeout, closing connection');
        } finally {
            clearInterval(trickle);
        }
        expect(intake.deliverer.stored).toHaveLength(0);
        expect(intake.deliverer.aborted).toBe(1);
    });
});

describe('untrusted clients: AUTH and sender', () => {
    const untrusted = { smtpAccess: 'allow 127.0.0.2', untrusted: 'auth', imap: 'imap://127.0.0.1:1', tls: 'disabled' };

    it('requires AUTH, checks credentials, and lets users send only as themselves', async () => {
        fakeAuth.calls = 0;
        intake = await startIntake(untrusted, { lmtp: false, authenticator: fakeAuth });
        const { c } = await connect(intake.port);
        expect((await c.command('EHLO x.example')).text).toMatch(/^AUTH PLAIN LOGIN$/m);
        expect(await c.command('MAIL FROM:<alice@example.org>')).toEqual({ code: 530, text: '5.7.0 Authentication required' });
        expect(await c.command(`AUTH PLAIN ${plain('alice@example.org', 'wrong')}`)).toEqual({ code: 535, text: '5.7.8 Authentication credentials invalid' });
        expect((await c.command(`AUTH PLAIN ${plain('alice@example.org', 'right', 'bob@example.org')}`)).code).toBe(535);
        expect((await c.command(`AUTH PLAIN ${plain('alice@example.org', 'right')}`)).code).toBe(235);
        expect(await c.command('MAIL FROM:<bob@example.org>')).toEqual({ code: 553, text: '5.7.1 Sender address rejected: not owned by user alice@example.org' });
        const ok = await transaction(c, 'Alice@Example.org', ['bob@example.org'], MSG, false);
        expect(ok.final.map(f => f.code)).toEqual([250]);
        expect(intake.deliverer.stored).toHaveLength(1);
        expect(fakeAuth.calls).toBe(2); // the authzid attempt never reached the authenticator
    });

    it('does not offer AUTH to trusted clients', async () => {
        intake = await startIntake({ ...untrusted, smtpAccess: 'allow 127.0.0.1' }, { lmtp: false, authenticator: fakeAuth });
        const { c } = await connect(intake.port);
        expect((await c.command('EHLO x.example')).text).not.toMatch(/AUTH|STARTTLS/);
        expect((await send(intake.port, 'anyone@example.org', ['b@example.org'], MSG, { lmtp: false })).final[0].code).toBe(250);
    });

    it('slows down password guessing: 421 4.7.0 after 10 failures from one address', async () => {
        intake = await startIntake(untrusted, { lmtp: false, authenticator: fakeAuth });
        const codes: number[] = [];
        for (let i = 0; i < 11; i++) {
            const { c } = await connect(intake.port);
            await c.command('EHLO x.example');
            codes.push((await c.command(`AUTH PLAIN ${plain('alice@example.org', 'guess' + i)}`)).code);
            c.sock.destroy();
        }
        expect(codes).toEqual([...Array(10).fill(535), 421]);
    });
});

describe('STARTTLS for untrusted clients', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-tls-'));
    const live = { cert: path.join(dir, 'live.pem'), key: path.join(dir, 'live.key') };
    const first = makeCert(dir, 'first');
    const second = makeCert(dir, 'second');
    const useCert = (pair: { cert: string; key: string }) => {
        copyFileSync(pair.cert, live.cert);
        copyFileSync(pair.key, live.key);
    };

    async function starttls(c: LineClient): Promise<{ sock: tls.TLSSocket; cn: string }> {
        expect((await c.command('STARTTLS')).code).toBe(220);
        const sock = tls.connect({ socket: c.sock, rejectUnauthorized: false });
        await new Promise<void>((resolve, reject) => sock.once('secureConnect', resolve).once('error', reject));
        return { sock, cn: String(sock.getPeerCertificate().subject.CN) };
    }

    /** Line-at-a-time commands over the TLS socket; resolves with the whole reply. */
    async function secureLines(sock: tls.TLSSocket): Promise<(cmd: string) => Promise<string>> {
        let buf = '';
        let waiter: (() => void) | undefined;
        sock.on('data', d => {
            buf += d.toString('latin1');
            waiter?.();
        });
        return async cmd => {
            buf = '';
            sock.write(cmd + '\r\n');
            while (!/(^|\n)\d{3} [^\n]*\r\n$/.test(buf)) await new Promise<void>(r => (waiter = r));
            return buf;
        };
    }

    it('requires STARTTLS before AUTH and MAIL, and serves the reloaded certificate after SIGHUP', async () => {
        fakeAuth.calls = 0;
        useCert(first);
        intake = await startIntake(
            { smtpAccess: 'allow 127.0.0.2', untrusted: 'auth', imap: 'imap://127.0.0.1:1', tlsCert: live.cert, tlsKey: live.key },
            { lmtp: false, authenticator: fakeAuth }
        );
        const { c } = await connect(intake.port);
        const ehlo = (await c.command('EHLO x.example')).text;
        expect(ehlo).toMatch(/^STARTTLS$/m);
        expect(ehlo).not.toMatch(/AUTH/); // not even invited before TLS
        expect((await c.command(`AUTH PLAIN ${plain('alice@example.org', 'right')}`)).code).toBe(500);
        expect(fakeAuth.calls).toBe(0);
        expect(await c.command('MAIL FROM:<alice@example.org>')).toEqual({ code: 530, text: '5.7.0 Must issue a STARTTLS command first' });
        const t = await starttls(c);
        expect(t.cn).toBe('first.test');
        // after STARTTLS: AUTH offered and taken
        const secure = await secureLines(t.sock);
        expect(await secure('EHLO x.example')).toMatch(/^250-AUTH PLAIN LOGIN$/m);
        expect(await secure(`AUTH PLAIN ${plain('alice@example.org', 'right')}`)).toMatch(/^235 /);
        t.sock.destroy();

        useCert(second);
        intake.server.reload(intake.config);
        const again = await connect(intake.port);
        await again.c.command('EHLO x.example');
        const t2 = await starttls(again.c);
        expect(t2.cn).toBe('second.test');
        t2.sock.destroy();
    });

    afterAll(() => rmSync(dir, { recursive: true, force: true }));
});

describe('draining (SIGTERM)', () => {
    it('refuses new clients with 421 4.3.2, finishes the open transaction, then closes', async () => {
        intake = await startIntake({});
        const { c } = await connect(intake.port);
        await c.command('LHLO x.example');
        await c.command('MAIL FROM:<a@example.org>');
        await c.command('RCPT TO:<b@example.org>');
        await c.command('DATA');
        c.write(MSG.subarray(0, 10));
        const closing = intake.server.close();
        const late = await connect(intake.port);
        expect(late.greeting).toBe('421 4.3.2 Service shutting down, try again later');
        c.write(dataPayload(MSG).subarray(10));
        expect((await c.reply()).code).toBe(250);
        await closing;
        expect(intake.deliverer.stored).toHaveLength(1);
        intake = undefined;
    });
});
