// The live page in headless Chromium (Debian's, driven by playwright-core; never a downloaded
// browser) against a real Dovecot: sign in with the mail password, a voicemail delivered through
// the bridge lights the lamp, \Seen over IMAP puts it out, a wrong password is refused.
// Screenshots go to the test's temp dir.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { PASSWORD, type TestDovecot } from '../helpers/dovecot.js';
import { dovecotOf, hookFragmentFor, ROOT_BUILD_TIMEOUT } from '../helpers/dovecot24.js';
import type { HookFragment } from '../helpers/hook-fragment.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort } from '../helpers/net.js';

const ROOT = path.resolve(__dirname, '../..');
const VOICEMAIL = readFileSync(path.join(ROOT, 'test/fixtures/messages/asterisk-voicemail.eml'));
const ALICE = 'alice@example.org';
let dovecot: TestDovecot;
let vmb: TestBridge;
let frag: HookFragment;
let browser: BrowserContext; // a persistent context: the fresh --user-data-dir
let tmp = '';
let base = '';

beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'vmb-page-'));
    const ingest = `127.0.0.1:${await freePort()}`;
    frag = await hookFragmentFor('2.3', ['--ingest', ingest, '--ingest-token', 'page-test-ingest-token-0123456789']);
    dovecot = await dovecotOf('2.3', { extraConfig: frag.fragment }).start();
    const http = `127.0.0.1:${await freePort()}`;
    vmb = await startBridge({ deliver: dovecot.lmtpUrl, ingest, ingestToken: 'page-test-ingest-token-0123456789', imap: dovecot.imapUrl, hook: 'yes', http });
    base = `http://${http}/`;
    browser = await launchChromium(path.join(tmp, 'profile'), { width: 390, height: 844 }); // a phone
}, ROOT_BUILD_TIMEOUT);

afterAll(async () => {
    await browser?.close();
    await vmb?.stop();
    await dovecot?.destroy();
    frag?.cleanup();
    // the screenshots stay (named in the log); the browser profile goes
    if (tmp) rmSync(path.join(tmp, 'profile'), { recursive: true, force: true });
    if (tmp) console.log(`page screenshots: ${tmp}`);
});

async function signIn(page: Page, user: string, secret: string): Promise<void> {
    await page.goto(base);
    await page.getByLabel('User').fill(user);
    await page.getByLabel('Password or token').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('the live page in Chromium', () => {
    it('sign in; a voicemail lights the lamp (1 new); \\Seen over IMAP puts it out', async () => {
        const page = await browser.newPage();
        try {
            await signIn(page, ALICE, PASSWORD);
            await page.locator('#status', { hasText: 'Connected' }).waitFor({ timeout: 10_000 });
            const r = await send(vmb.lmtpPort, 'pbx@example.org', [ALICE], VOICEMAIL);
            expect(r.final.map(f => f.code)).toEqual([250]);
            await page.locator('.box[data-new="1"] .lamp.on').waitFor({ timeout: 2000 });
            await page.locator('#events li[data-type="newmail"]').first().waitFor({ timeout: 2000 });
            expect(await page.locator('#events li[data-type="newmail"]').first().textContent()).toMatch(/New voicemail from .+, \d+ s in INBOX/);
            await page.screenshot({ path: path.join(tmp, 'lamp-on.png'), fullPage: true });
            const c = await dovecot.imap(ALICE);
            await c.mailboxOpen('INBOX');
            await c.messageFlagsAdd('1', ['\\Seen'], { uid: true });
            await c.logout();
            await page.locator('.box[data-new="0"] .lamp:not(.on)').waitFor({ timeout: 5000 });
            await page.locator('#events li[data-type="flag"]', { hasText: 'Read' }).first().waitFor({ timeout: 5000 });
            await page.screenshot({ path: path.join(tmp, 'lamp-off.png'), fullPage: true });
        } finally {
            await page.close();
        }
    });

    it('a wrong password is refused on the page', async () => {
        const page = await browser.newPage();
        try {
            await signIn(page, ALICE, 'not-the-password');
            await page.locator('#signin-error', { hasText: 'Sign-in refused.' }).waitFor({ timeout: 10_000 });
            expect(await page.locator('#live').isHidden()).toBe(true);
            await page.screenshot({ path: path.join(tmp, 'refused.png') });
        } finally {
            await page.close();
        }
    });
});
