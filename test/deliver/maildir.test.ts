// maildir target: a real Maildir (Dovecot's IMAP reads it), bytes unchanged, one streamed write
// hard-linked per recipient, safe user directories, abort and disk errors.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliverer } from '../../src/deliver/index.js';
import { safeUser, uniqueName } from '../../src/deliver/maildir-name.js';
import { MAIL_UID, startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { abortMidData, CRLF_MESSAGE, deliver } from './util.js';
import { deliverTarget } from '../../src/config-values.js';

let root: string;
beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'vmb-maildir-'));
});
afterAll(() => {
    rmSync(root, { recursive: true, force: true });
});

const files = (dir: string) => {
    try {
        return readdirSync(dir).map(f => path.join(dir, f));
    } catch {
        return [];
    }
};

describe('maildir naming', () => {
    it('escapes users into one safe, distinct directory name', () => {
        expect(safeUser('alice@example.org')).toBe('alice@example.org');
        expect(safeUser('../etc')).toBe('%2E.%2Fetc');
        expect(safeUser('a/b')).not.toBe(safeUser('a_b'));
        expect(safeUser('a%2Fb')).not.toBe(safeUser('a/b'));
        expect(safeUser('x\ny\x00')).toBe('x%0Ay%00');
    });

    it('makes unique names of the maildir form', () => {
        const a = uniqueName();
        expect(a).toMatch(/^\d+\.M\d+P\d+Q\d+\.[^/:]+$/);
        expect(uniqueName()).not.toBe(a);
    });
});

describe('maildir target', () => {
    it('stores each copy byte for byte in <dir>/<user>/new, hard-linked, with tmp/ left empty', async () => {
        const dir = path.join(root, 'a');
        const d = createDeliverer(deliverTarget.parse(`maildir:${dir}`));
        const sent = await deliver(d, 'alice@example.org', ['bob@example.org', 'carol@example.org', '.hidden/../x'], CRLF_MESSAGE);
        expect(sent.rcpt).toEqual([true, true, true]);
        expect(sent.outcomes).toEqual(Array(3).fill({ ok: true, text: '2.0.0 Ok: stored', mailbox: 'INBOX' }));
        const bob = files(path.join(dir, 'bob@example.org', 'new'));
        const carol = files(path.join(dir, 'carol@example.org', 'new'));
        expect(bob).toHaveLength(1);
        expect(carol).toHaveLength(1);
        expect(readFileSync(bob[0]).equals(CRLF_MESSAGE)).toBe(true);
        expect(path.basename(bob[0])).toMatch(new RegExp(`,S=${CRLF_MESSAGE.length}$`));
        expect(statSync(bob[0]).ino).toBe(statSync(carol[0]).ino); // streamed once, linked
        expect(statSync(bob[0]).mode & 0o777).toBe(0o600);
        expect(files(path.join(dir, '%2Ehidden%2F..%2Fx', 'new'))).toHaveLength(1);
        expect(readdirSync(dir).sort()).toEqual(['%2Ehidden%2F..%2Fx', 'bob@example.org', 'carol@example.org']);
        for (const u of ['bob@example.org', 'carol@example.org']) {
            expect(files(path.join(dir, u, 'tmp'))).toEqual([]);
            expect(files(path.join(dir, u, 'cur'))).toEqual([]);
        }
    });

    it('is a Maildir Dovecot serves over IMAP', async () => {
        let dovecot: TestDovecot | undefined;
        try {
            dovecot = await startDovecot();
            const d = createDeliverer(deliverTarget.parse(`maildir:${dovecot.dir}/mail`));
            const lf = Buffer.from('Subject: lf only\n\n.dot\nbody\n');
            expect((await deliver(d, '', ['alice@example.org'], CRLF_MESSAGE)).outcomes[0].ok).toBe(true);
            expect((await deliver(d, '', ['alice@example.org'], lf)).outcomes[0].ok).toBe(true);
            execFileSync('chown', ['-R', `${MAIL_UID}:${MAIL_UID}`, path.join(dovecot.dir, 'mail')]); // we run as root
            const msgs = await dovecot.messages('alice@example.org');
            expect(msgs.map(m => m.source.toString('latin1'))).toEqual([CRLF_MESSAGE.toString('latin1'), lf.toString().replace(/\n/g, '\r\n')]);
        } finally {
            await dovecot?.destroy();
        }
    });

    it('abort() mid-DATA stores nothing', async () => {
        const dir = path.join(root, 'b');
        const d = createDeliverer(deliverTarget.parse(`maildir:${dir}`));
        expect((await abortMidData(d, 'bob@example.org'))[0]).toMatchObject({ ok: false, error: { responseCode: 451 } });
        expect(files(path.join(dir, 'bob@example.org', 'new'))).toEqual([]);
        expect(files(path.join(dir, 'bob@example.org', 'tmp'))).toEqual([]);
    });

    it('a disk error is 451 4.3.0 for every recipient', async () => {
        const notADir = path.join(root, 'file');
        writeFileSync(notADir, 'x');
        const d = createDeliverer(deliverTarget.parse(`maildir:${notADir}`));
        const sent = await deliver(d, '', ['alice@example.org', 'bob@example.org'], CRLF_MESSAGE);
        expect(sent.outcomes).toHaveLength(2);
        for (const o of sent.outcomes) expect(o).toMatchObject({ ok: false, error: { responseCode: 451, enhanced: '4.3.0' } });
    });

    it('refuses an empty username', async () => {
        const d = createDeliverer(deliverTarget.parse(`maildir:${root}/c`));
        const txn = await d.begin({ from: '', sessionId: 'e' });
        await expect(txn.addRecipient({ address: 'x@y', user: '' })).rejects.toMatchObject({ responseCode: 550 });
    });
});
