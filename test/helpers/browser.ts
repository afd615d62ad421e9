// Debian's Chromium (never a downloaded browser), headless, with a fresh profile in `profileDir`
// and the flags that keep it off the network: both browser tests use this one launch.
import { chromium, type BrowserContext } from 'playwright-core';

const FLAGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync'
];

export function launchChromium(profileDir: string, viewport: { width: number; height: number }): Promise<BrowserContext> {
    return chromium.launchPersistentContext(profileDir, { executablePath: '/usr/bin/chromium', headless: true, args: FLAGS, viewport });
}
