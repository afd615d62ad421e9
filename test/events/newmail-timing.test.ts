// Exactly one newmail per stored copy, with Dovecot's uid, whatever the timing (issue 15 item 1):
// real Dovecot with the hook from `vmbridge dovecot-config`, deliveries through the bridge over
// LMTP and dovecot-lda, a fresh bridge each time (its first delivery is the first after start),
// rapid deliveries to many users, a Dovecot slow to report (a proxy delays the hook's stream past
// the join window), and a stop while joins are pending. bridge.stop() is the barrier: it emits
// everything still held, so counting after it sees every event the bridge would ever make.
// (The hook idle for hours is test/events/correlate.test.ts, with fake timers.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmEvent } from '../../src/events/event.js';
import { hookGaps, ingestBatches } from '../../src/metrics.js';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { DOVECOT_VERSIONS, dovecotOf, hookFragmentFor, ROOT_BUILD_TIMEOUT } from '../helpers/dovecot24.js';
import { delayingProxy, hookFragment, type HookFragment } from '../helpers/hook-fragment.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort, waitFor } from '../helpers/net.js';

const TOKEN = 'timing-test-token-0123456789abcdef';
const USERS = Array.from({ length: 20 }, (_, i) => `u${i}@example.org`);
let msgNo = 0;
const message = () => Buffer.from(`From: pbx@example.net\r\nTo: x@example.org\r\nSubject: t${++msgNo}\r\nMessage-ID: <timing-${msgNo}-${Date.now()}@example.net>\r\n\r\nhello\r\n`);
const accepted = async () => (await ingestBatches.get()).values.find(v => v.labels.result === 'accepted')?.value ?? 0;
const deliveryGaps = async () => (await hookGaps.get()).values.find(v => v.labels.kind === 'delivery')?.value ?? 0;

/** Every event the bridge publishes, straight from its event pipeline (no bus timing involved). */
function collect(b: TestBridge): VmEvent[] {
    const evs: VmEvent[] = [];
    b.bridge.events.add({ emit: ev => void evs.push(ev) });
    return evs;
}

type Snapshot = Map<string, Set<number>>;
async function snapshot(dovecot: TestDovecot, users: string[]): Promise<Snapshot> {
    const m: Snapshot = new Map();
    for (const u of users) m.set(u, new Set((await dovecot.messages(u)).map(x => x.uid)));
    return m;
}

/** One newmail per message stored since `before`, with the uid Dovecot gave it. */
async function expectOnePerCopy(dovecot: TestDovecot, evs: VmEvent[], before: Snapshot): Promise<void> {
    const newmail = evs.filter(e => e.type === 'newmail');
    let stored = 0;
    for (const [u, old] of before) {
        const uids = (await dovecot.messages(u)).map(m => m.uid).filter(x => !old.has(x));
        stored += uids.length;
        expect(
            newmail
                .filter(e => e.user === u)
                .map(e => e.uid)
                .sort((a, b) => (a ?? 0) - (b ?? 0)),
            u
        ).toEqual(uids);
    }
    expect(newmail).toHaveLength(stored);
    for (const e of newmail) expect(e.uidValidity).toBeGreaterThan(0);
}

describe.each(DOVECOT_VERSIONS)('Dovecot %s: one newmail per stored copy, with uid (real Dovecot, hook installed)', version => {
    let dovecot: TestDovecot;
    let frag: HookFragment;
    let ingest = '';
    let proxy: Awaited<ReturnType<typeof delayingProxy>> | undefined;

    beforeAll(async () => {
        // Dovecot's hook talks to a port that is either the bridge's ingest or a delaying proxy in front.
        ingest = `127.0.0.1:${await freePort()}`;
        frag = await hookFragmentFor(version, ['--ingest', ingest, '--ingest-token', TOKEN]);
        dovecot = await dovecotOf(version, { users: USERS, extraConfig: frag.fragment }).start();
    }, ROOT_BUILD_TIMEOUT);
    afterAll(async () => {
        await proxy?.close();
        await dovecot?.destroy();
        frag?.cleanup();
    });

    /** A fresh bridge; with `delayMs` it listens elsewhere and the hook's port is a delaying proxy. */
    async function bridge(flags: Record<string, unknown>, delayMs?: number): Promise<TestBridge> {
        const own = delayMs === undefined ? ingest : `127.0.0.1:${await freePort()}`;
        const b = await startBridge({ deliver: dovecot.lmtpUrl, ingest: own, ingestToken: TOKEN, hook: 'yes', imap: dovecot.imapUrl, ...flags });
        if (delayMs !== undefined) proxy = await delayingProxyOn(ingest, own, delayMs);
        return b;
    }

    it('fresh start, first delivery: one newmail with uid, nothing later', async () => {
        const before = await snapshot(dovecot, USERS);
        const b = await bridge({});
        const evs = collect(b);
        try {
            const r = await send(b.lmtpPort, 'pbx@example.net', [USERS[0]], message());
            expect(r.final.map(f => f.code)).toEqual([250]);
            await waitFor(() => evs.some(e => e.type === 'newmail'), 10_000, 'newmail');
        } finally {
            await b.stop();
        }
        await expectOnePerCopy(dovecot, evs, before);
    });

    it('--hook auto, fresh start: one newmail with uid for the first delivery (looked up) and the next (the hook was heard)', async () => {
        const stored = await snapshot(dovecot, USERS);
        const b = await bridge({ hook: 'auto' });
        const evs = collect(b);
        const before = await accepted();
        try {
            for (const u of [USERS[4], USERS[5]]) {
                const r = await send(b.lmtpPort, 'pbx@example.net', [u], message());
                expect(r.final.map(f => f.code)).toEqual([250]);
                await waitFor(async () => evs.some(e => e.type === 'newmail' && e.user === u) && (await accepted()) > before, 10_000, `newmail for ${u}`);
            }
        } finally {
            await b.stop();
        }
        await expectOnePerCopy(dovecot, evs, stored);
    });

    it('50 deliveries to 20 users, 0.1 s apart: 50 newmail, each with its uid', async () => {
        const stored = await snapshot(dovecot, USERS);
        // A window no loopback report misses: a MessageNew that does not come was lost (e.g. two
        // Lua states sharing a batch identity, its batch dropped as a repeat) and is counted.
        const b = await bridge({ hookJoinWindow: 10_000 });
        const evs = collect(b);
        const before = await accepted();
        const gaps = await deliveryGaps();
        const users = Array.from({ length: 50 }, (_, i) => USERS[i % 20]);
        try {
            const sends: Promise<Awaited<ReturnType<typeof send>>>[] = [];
            for (const u of users) {
                sends.push(send(b.lmtpPort, 'pbx@example.net', [u], message()));
                await new Promise(r => setTimeout(r, 100)); // the offered rate, not a wait for anything
            }
            for (const r of await Promise.all(sends)) expect(r.final.map(f => f.code)).toEqual([250]);
            await waitFor(async () => (await accepted()) >= before + 50, 20_000, "Dovecot's 50 MessageNew");
        } finally {
            await b.stop();
        }
        await expectOnePerCopy(dovecot, evs, stored);
        expect(await deliveryGaps()).toBe(gaps);
    });

    it('Dovecot slow to report (hook delayed past the join window): uid looked up, the late MessageNew adds nothing', async () => {
        const stored = await snapshot(dovecot, USERS);
        const b = await bridge({ hookJoinWindow: 200 }, 1500);
        const evs = collect(b);
        const before = await accepted();
        const gaps = await deliveryGaps();
        try {
            const r = await send(b.lmtpPort, 'pbx@example.net', [USERS[1]], message());
            expect(r.final.map(f => f.code)).toEqual([250]);
            await waitFor(() => evs.some(e => e.type === 'newmail'), 10_000, 'newmail');
            await waitFor(async () => (await accepted()) > before, 10_000, 'the late MessageNew');
        } finally {
            await b.stop();
            await proxy?.close();
            proxy = undefined;
        }
        expect(await deliveryGaps()).toBe(gaps + 1);
        await expectOnePerCopy(dovecot, evs, stored);
    });

    it('stop with joins pending: the newmail goes out, with the uid, before the bridge is down', async () => {
        const stored = await snapshot(dovecot, USERS);
        const b = await bridge({ hookJoinWindow: 10_000, imap: undefined }, 1000);
        const evs = collect(b);
        const users = [USERS[2], USERS[3]];
        try {
            const r = await send(b.lmtpPort, 'pbx@example.net', users, message());
            expect(r.final.map(f => f.code)).toEqual([250, 250]);
            expect(evs.filter(e => e.type === 'newmail')).toHaveLength(0); // still waiting for Dovecot
        } finally {
            await b.stop(); // as on SIGTERM
            await proxy?.close();
            proxy = undefined;
        }
        await expectOnePerCopy(dovecot, evs, stored);
    });
});

describe('one newmail per stored copy through dovecot-lda', () => {
    let dovecot: TestDovecot;
    let frag: HookFragment;
    let vmb: TestBridge;

    beforeAll(async () => {
        const ingest = `127.0.0.1:${await freePort()}`;
        frag = hookFragment(['--ingest', ingest, '--ingest-token', TOKEN]);
        dovecot = await startDovecot({ users: USERS.slice(0, 5), extraConfig: frag.fragment });
        vmb = await startBridge({ deliver: dovecot.ldaTarget, ingest, ingestToken: TOKEN, hook: 'yes', imap: dovecot.imapUrl });
    });
    afterAll(async () => {
        await vmb?.stop();
        await dovecot?.destroy();
        frag?.cleanup();
    });

    it('10 deliveries to 5 users: 10 newmail, each with its uid', async () => {
        const stored = await snapshot(dovecot, USERS.slice(0, 5));
        const evs = collect(vmb);
        const before = await accepted();
        const users = Array.from({ length: 10 }, (_, i) => USERS[i % 5]);
        const results = await Promise.all(users.map(u => send(vmb.lmtpPort, 'pbx@example.net', [u], message())));
        for (const r of results) expect(r.final.map(f => f.code)).toEqual([250]);
        await waitFor(async () => (await accepted()) >= before + 10, 20_000, "Dovecot's 10 MessageNew");
        await vmb.stop();
        await expectOnePerCopy(dovecot, evs, stored);
    });
});

/** The hook's address served by a proxy to the bridge's own ingest, `delayMs` late. */
async function delayingProxyOn(listen: string, target: string, delayMs: number) {
    const p = await delayingProxy(target, delayMs, listen);
    return p;
}

describe('two bridges sharing memcached, Dovecot reporting to one of them', () => {
    let dovecot: TestDovecot;
    let memcached: TestMemcached;
    let frag: HookFragment;
    let a: TestBridge; // Dovecot's hook reports here
    let b: TestBridge; // delivers too; hears nothing from Dovecot

    beforeAll(async () => {
        memcached = await startMemcached();
        const ingest = `127.0.0.1:${await freePort()}`;
        frag = hookFragment(['--ingest', ingest, '--ingest-token', TOKEN]);
        dovecot = await startDovecot({ users: USERS.slice(0, 4), extraConfig: frag.fragment });
        const common = { deliver: dovecot.lmtpUrl, ingestToken: TOKEN, hook: 'yes', resolver: memcached.resolver, hookJoinWindow: 500, imap: dovecot.imapUrl };
        a = await startBridge({ ...common, ingest });
        b = await startBridge({ ...common, ingest: `127.0.0.1:${await freePort()}` });
    });
    afterAll(async () => {
        await a?.stop();
        await b?.stop();
        await dovecot?.destroy();
        await memcached?.stop();
        frag?.cleanup();
    });

    it('deliveries through either: one newmail per copy in all, each with its uid', async () => {
        const stored = await snapshot(dovecot, USERS.slice(0, 4));
        const evs = [...[a, b].map(collect)];
        const before = await accepted();
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => send((i % 2 ? b : a).lmtpPort, 'pbx@example.net', [USERS[i % 4]], message())));
        for (const r of results) expect(r.final.map(f => f.code)).toEqual([250]);
        await waitFor(async () => (await accepted()) >= before + 8, 20_000, "Dovecot's 8 MessageNew");
        await a.stop();
        await b.stop();
        await expectOnePerCopy(dovecot, evs.flat(), stored);
        expect(evs[1].filter(e => e.type === 'newmail')).toHaveLength(4); // b's own deliveries are b's newmail
    });
});
