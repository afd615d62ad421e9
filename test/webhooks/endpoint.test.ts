// Webhook delivery against a real local HTTP receiver and the real SQLite journal: at-least-once
// in order through failures, signatures a receiver can verify, the cursor surviving a restart
// (same state directory, in-process), and disabling after sustained failure (fake timers).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { replay } from '../../src/publish/journal.js';
import { SqliteJournal } from '../../src/publish/journal-sqlite.js';
import { WebhookCursors } from '../../src/webhooks/cursors.js';
import { WebhookEndpoint, type WebhookLimits } from '../../src/webhooks/endpoint.js';
import { SIGNATURE_HEADER, verifySignature } from '../../src/webhooks/sign.js';
import { captureLogger } from '../mwi/log-capture.js';

const SECRET = 'whsec-test-0123456789abcdef';
const FAST: WebhookLimits = { batchMax: 100, timeoutMs: 5000, backoff: { baseMs: 5, maxMs: 40 }, disableAfterFailures: 50, disableAfterMs: 24 * 3600_000 };

interface Got {
    body: string;
    signature?: string;
    authorization?: string;
}
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
    vi.useRealTimers();
    for (const f of cleanup.splice(0).reverse()) await f();
});

function tempDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-webhook-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
}

/** A receiver that answers `status(n)` to its n-th request (from 1) and records the 2xx ones. */
async function receiver(status: (n: number) => number): Promise<{ url: string; got: Got[]; requests: () => number; waitFor: (n: number) => Promise<void> }> {
    const got: Got[] = [];
    let n = 0;
    const waiters: { n: number; resolve: () => void }[] = [];
    const server: Server = createServer((req: IncomingMessage, res) => {
        const chunks: Buffer[] = [];
        req.on('data', c => chunks.push(c));
        req.on('end', () => {
            const code = status(++n);
            if (code < 300)
                got.push({
                    body: Buffer.concat(chunks).toString('utf8'),
                    signature: req.headers[SIGNATURE_HEADER] as string | undefined,
                    authorization: req.headers.authorization
                });
            res.writeHead(code).end();
            for (const w of waiters.filter(w => got.length >= w.n)) w.resolve();
        });
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>(r => server.close(() => r())));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}/hook`,
        got,
        requests: () => n,
        waitFor: want => (got.length >= want ? Promise.resolve() : new Promise(resolve => waiters.push({ n: want, resolve })))
    };
}

function open(dir: string) {
    const journal = new SqliteJournal(dir);
    const cursors = new WebhookCursors(journal.db);
    return { journal, cursors, read: (user: string, since: number, limit: number) => replay(journal, user, since, undefined, limit) };
}

/** Sequences and journals events as the bridge does, returning them with their seq. */
async function journaled(journal: SqliteJournal, user: string, n: number, from = 0): Promise<VmEvent[]> {
    const first = await journal.allocate(user, n);
    const evs = Array.from({ length: n }, (_, i) =>
        makeEvent({ id: `fl.${user}.${from + i}`, seq: first + i, type: 'flag', user, mailbox: 'INBOX', uid: from + i + 1, flags: { set: ['\\Seen'], cleared: [] } })
    );
    await journal.append(evs);
    return evs;
}

const ids = (got: Got[]) => got.flatMap(g => (JSON.parse(g.body) as { events: VmEvent[] }).events.map(e => e.id));

describe('webhook endpoint', () => {
    test('a receiver failing 3 times then succeeding gets every event once, in order, signed', async () => {
        const rx = await receiver(n => (n <= 3 ? 503 : 200));
        const { journal, cursors, read } = open(tempDir());
        cleanup.push(() => journal.close());
        const ep = new WebhookEndpoint({ id: 'site-1', url: rx.url, secret: SECRET }, read, cursors, { limits: FAST });
        cleanup.push(() => ep.stop());
        const evs = await journaled(journal, 'alice', 5);
        for (const ev of evs) ep.emit(ev);
        const more = await journaled(journal, 'alice', 3, 5);
        for (const ev of more) ep.emit(ev);
        await rx.waitFor(1);
        await vi.waitFor(() => expect(ids(rx.got)).toHaveLength(8));
        expect(rx.requests()).toBeGreaterThanOrEqual(4);
        expect(ids(rx.got)).toEqual([...evs, ...more].map(e => e.id));
        for (const g of rx.got) {
            expect(verifySignature(SECRET, g.signature, g.body)).toBe(true);
            expect(verifySignature('another-secret', g.signature, g.body)).toBe(false);
            expect(verifySignature(SECRET, g.signature, g.body + ' ')).toBe(false);
        }
        // The cursor moves once the 2xx is read (at-least-once: a crash before that redelivers).
        await vi.waitFor(() => expect(cursors.get('site-1', 'alice')).toBe(more[2].seq));
        expect(ep.disabled).toBe(false);
    });

    test('the cursor persists: after a restart only what was journaled meanwhile is delivered', async () => {
        const rx = await receiver(() => 204);
        const dir = tempDir();
        const a = open(dir);
        const ep = new WebhookEndpoint({ id: 'site-1', url: rx.url, secret: SECRET, types: ['flag'] }, a.read, a.cursors, { limits: FAST });
        const before = await journaled(a.journal, 'alice', 3);
        for (const ev of before) ep.emit(ev);
        await rx.waitFor(1);
        await vi.waitFor(() => expect(a.cursors.get('site-1', 'alice')).toBe(before[2].seq));
        ep.stop();
        // Journaled while this endpoint is down (another bridge run, or the receiver's outage).
        const during = await journaled(a.journal, 'alice', 2, 3);
        await a.journal.close();

        const b = open(dir);
        cleanup.push(() => b.journal.close());
        const ep2 = new WebhookEndpoint({ id: 'site-1', url: rx.url, secret: SECRET, types: ['flag'] }, b.read, b.cursors, { limits: FAST });
        cleanup.push(() => ep2.stop());
        ep2.start();
        await vi.waitFor(() => expect(ids(rx.got)).toHaveLength(5));
        expect(ids(rx.got)).toEqual([...before, ...during].map(e => e.id));
    });

    test('a per-user endpoint sees only its user; a type filter drops other types but advances', async () => {
        const rx = await receiver(() => 200);
        const { journal, cursors, read } = open(tempDir());
        cleanup.push(() => journal.close());
        const ep = new WebhookEndpoint({ id: 'u-alice', url: rx.url.replace('http://', 'http://ox:pw%40x@'), secret: SECRET, user: 'alice', types: ['mwi'] }, read, cursors, {
            limits: FAST
        });
        cleanup.push(() => ep.stop());
        for (const ev of await journaled(journal, 'bob', 2)) ep.emit(ev);
        const [first] = await journaled(journal, 'alice', 1);
        ep.emit(first);
        const seq = await journal.allocate('alice', 1);
        const mwi = makeEvent({ id: 'mwi.1', seq, type: 'mwi', user: 'alice', mwi: { mailbox: '1000@default', new: 1, old: 0, urgent: 0 } });
        await journal.append([mwi]);
        ep.emit(mwi);
        await rx.waitFor(1);
        expect(ids(rx.got)).toEqual(['mwi.1']);
        expect(rx.got[0].authorization).toBe(`Basic ${Buffer.from('ox:pw@x').toString('base64')}`);
        expect(cursors.get('u-alice', 'bob')).toBeUndefined();
    });

    test('disabled after sustained failure (24 h), with a warn line and a metric; enable resumes', async () => {
        vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
        const rx = await receiver(() => 500);
        const { journal, cursors, read } = open(tempDir());
        cleanup.push(() => journal.close());
        const { logger, records } = captureLogger();
        const limits: WebhookLimits = { ...FAST, backoff: { baseMs: 1000, maxMs: 600_000 }, disableAfterFailures: 10_000 };
        const ep = new WebhookEndpoint({ id: 'site-1', url: rx.url, secret: SECRET }, read, cursors, { limits, logger });
        cleanup.push(() => ep.stop());
        const { registry } = await import('../../src/metrics.js');
        const disabledBefore = (await registry.getSingleMetric('vmbridge_webhook_disabled_total')!.get()).values[0]?.value ?? 0;
        const evs = await journaled(journal, 'alice', 2);
        for (const ev of evs) ep.emit(ev);
        const spin = () => new Promise(r => setImmediate(r));
        await rx.waitFor(0);
        for (let i = 0; i < 2000 && !ep.disabled; i++) {
            // Let each answered attempt be recorded as a failure, then move the clock to the retry.
            while (cursors.state('site-1').failures < rx.requests() && !ep.disabled) await spin();
            await vi.advanceTimersByTimeAsync(600_000);
        }
        expect(ep.disabled).toBe(true);
        const s = cursors.state('site-1');
        expect(Date.now() - s.failingSince).toBeGreaterThanOrEqual(24 * 3600_000);
        expect(s.failures).toBeLessThan(10_000);
        expect(records.some(r => r.level === 40 && /webhook site-1 disabled/.test(r.msg))).toBe(true);
        const disabledAfter = (await registry.getSingleMetric('vmbridge_webhook_disabled_total')!.get()).values[0].value;
        expect(disabledAfter).toBe(disabledBefore + 1);
        // Disabled: no more attempts, even for new events.
        const asked = rx.requests();
        await vi.advanceTimersByTimeAsync(3600_000);
        expect(rx.requests()).toBe(asked);
        expect(cursors.get('site-1', 'alice')).toBe(evs[0].seq! - 1);

        cursors.enable('site-1');
        expect(ep.disabled).toBe(false);
    });
});
