// The status page in headless Chromium (Debian's package, driven by playwright-core): it loads,
// shows Dovecot LMTP ok, then failing once Dovecot is stopped; recent errors carry no address.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort } from '../helpers/net.js';

const USER = 'alice@example.org';
const MESSAGE = Buffer.from('Subject: hi\r\n\r\nhello\r\n');

describe('status page in headless Chromium', () => {
    let dovecot: TestDovecot;
    let vmb: TestBridge;
    let browser: BrowserContext;
    let page: Page;
    let dir = '';
    let admin = '';

    beforeAll(async () => {
        dir = mkdtempSync(path.join(tmpdir(), 'vmb-status-page-'));
        admin = `127.0.0.1:${await freePort()}`;
        dovecot = await startDovecot();
        // warn: the recent-errors ring is fed by the logger (a silent logger feeds nothing)
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, imap: dovecot.imapUrl, admin, logLevel: 'warn' });
        // a fresh profile (playwright passes it as --user-data-dir)
        browser = await launchChromium(path.join(dir, 'profile'), { width: 390, height: 844 }); // a phone
        page = await browser.newPage();
    });

    afterAll(async () => {
        await browser?.close();
        await vmb?.stop();
        await dovecot?.destroy();
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const depState = (name: string) => page.locator(`tr[data-dep="${name}"] td.state`);

    it('loads and shows Dovecot LMTP ok, the version and rates, readable on a phone', async () => {
        const errors: string[] = [];
        page.on('pageerror', e => errors.push(e.message));
        page.on('console', m => m.type() === 'error' && errors.push(m.text()));
        await page.goto(`http://${admin}/`);
        await expect.poll(() => depState('dovecot-lmtp').textContent(), { timeout: 10_000 }).toBe('ok');
        expect(await page.locator('#overall').textContent()).toMatch(/^(ok|degraded)/);
        expect(await page.locator('#version').textContent()).toMatch(/^v\d+\.\d+/);
        expect(await page.locator('#rates dt').allTextContents()).toContain('messagesStored');
        // no horizontal scrolling at phone width
        expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
        await page.screenshot({ path: path.join(dir, 'status-ok.png'), fullPage: true });
        expect(errors).toEqual([]);
    });

    it('Dovecot stopped: the page shows Dovecot LMTP failing and not ready; the deferral is in recent errors without the address', async () => {
        await dovecot.stop();
        await expect.poll(() => depState('dovecot-lmtp').textContent(), { timeout: 15_000 }).toBe('failing');
        expect(await page.locator('#overall').textContent()).toMatch(/not ready — failing: dovecot-lmtp/);
        const r = await send(vmb.lmtpPort, 'sender@example.org', [USER], MESSAGE);
        expect(r.rcpt.map(x => x.code)).toEqual([451]);
        await expect.poll(() => page.locator('#errors li').count(), { timeout: 15_000 }).toBeGreaterThan(0);
        const text = await page.locator('body').textContent();
        expect(text).not.toContain(USER);
        expect(text).not.toContain('sender@example.org');
        await page.screenshot({ path: path.join(dir, 'status-failing.png'), fullPage: true });
        await dovecot.start();
        await expect.poll(() => depState('dovecot-lmtp').textContent(), { timeout: 15_000 }).toBe('ok');
    });
});
