// Names too long for the maildir target (issue 17, item 10): refused at RCPT with 550 5.1.3 —
// never 250 at RCPT followed by 451 ENAMETOOLONG at every retry for days. A name that fits is
// stored, also when escaping makes it longer.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaildirDeliverer } from '../../src/deliver/maildir.js';
import { safeUser, unstorableUser } from '../../src/deliver/maildir-name.js';
import { send } from '../helpers/lmtp-client.js';
import { startIntake, type TestIntake } from './intake-harness.js';

const MSG = Buffer.from('Subject: t\r\n\r\nhi\r\n');

/** An address of exactly n bytes within SMTP's limits (local part ≤ 64, labels ≤ 63). */
function address(n: number, local = 'a'.repeat(40)): string {
    let domain = 'org';
    while (local.length + 1 + domain.length < n) {
        const room = n - (local.length + 1 + domain.length) - 1;
        domain = 'x'.repeat(Math.min(63, room)) + '.' + domain;
    }
    return `${local}@${domain}`;
}

describe('maildir: names too long for the filesystem', () => {
    let root: string;
    let intake: TestIntake<MaildirDeliverer>;
    beforeAll(async () => {
        root = mkdtempSync(path.join(tmpdir(), 'vmb-long-'));
        intake = await startIntake({}, { deliverer: new MaildirDeliverer({ dir: `${root}`, text: `maildir:${root}` }) });
    });
    afterAll(async () => {
        await intake?.server.close();
        rmSync(root, { recursive: true, force: true });
    });

    it('refuses at RCPT with 550 5.1.3 what cannot be a directory, stores the others', async () => {
        // smtp-server takes addresses up to 253 bytes (RFC 5321's path limit); escaping ('/' and
        // '%' become %2F, %25) can still make the directory name longer than 255
        const fits = address(253);
        const escaped = address(200, '%/'.repeat(30)); // 200 bytes, 320 once escaped
        const r = await send(intake.port, 'a@example.org', [fits, escaped], MSG);
        expect(r.rcpt.map(x => x.code)).toEqual([250, 550]);
        expect(r.rcpt[1].text).toMatch(/^5\.1\.3 /);
        expect(r.final.map(f => f.code)).toEqual([250]);
        expect(readdirSync(path.join(root, safeUser(fits), 'new'))).toHaveLength(1);
        expect(readdirSync(root)).toEqual([safeUser(fits)]);
    });

    it('refuses a mapped user name whose directory name would be too long', async () => {
        const d = new MaildirDeliverer({ dir: `${root}`, text: `maildir:${root}` });
        const txn = await d.begin({ from: '', sessionId: 'long' });
        await expect(txn.addRecipient({ address: 'x@example.org', user: 'u'.repeat(256) })).rejects.toMatchObject({ responseCode: 550, enhanced: '5.1.3' });
        await expect(txn.addRecipient({ address: 'y@example.org', user: 'u'.repeat(255) })).resolves.toBeUndefined();
    });

    it('counts the whole path: a deep root leaves less room', () => {
        expect(unstorableUser('/' + 'd'.repeat(3900), 'alice@example.org')).toMatch(/path too long/);
        expect(unstorableUser('/var/mail', 'alice@example.org')).toBeUndefined();
    });
});
