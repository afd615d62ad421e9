// MWI against a real Dovecot: Asterisk-format voicemail APPENDed to alice's INBOX for 1000@default
// and 10001@default; events drive recounts, the counts come from the IMAP state, and Asterisk
// (a test AMI server) hears about every change.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { main } from '../../src/cli.js';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { BoxDirectory, makeBox } from '../../src/mwi/boxes.js';
import { countBox, ImapCounter, type MwiCounts } from '../../src/mwi/count.js';
import { ImapPool } from '../../src/imap/pool.js';
import { createMwi, type Mwi } from '../../src/mwi/index.js';
import { MwiService } from '../../src/mwi/recount.js';
import { Resync } from '../../src/mwi/resync.js';
import { MwiTrigger } from '../../src/mwi/trigger.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { freePort, waitFor } from '../helpers/net.js';
import { FakeAmi } from './fake-ami.js';
import { captureLogger } from './log-capture.js';
import { TcpProxy } from './tcp-proxy.js';
import { asteriskVoicemail, plainEmail } from './vm-message.js';
import { parseImapUrl } from '../../src/imap/target.js';
import { parseAmiUrl } from '../../src/mwi/ami.js';
import { MwiConfigShape } from '../../src/mwi/config.js';
import { asType, ofType, type EventInit } from '../helpers/events.js';

const ALICE = 'alice@example.org';
const box = (mailbox: string, context = 'default', folder = 'INBOX') => makeBox({ mailbox, context, user: ALICE, folder });
const vm1000 = { mailbox: '1000', context: 'default' };

let dovecot: TestDovecot;
let imap: ImapFlow;
const uid: Record<string, number> = {};

/** alice's session, INBOX selected (flag changes and moves act on the selected mailbox). */
async function openInbox(): Promise<ImapFlow> {
    const c = await dovecot.imap(ALICE);
    await c.mailboxOpen('INBOX');
    return c;
}

async function append(name: string, raw: Buffer, flags: string[] = []): Promise<void> {
    const res = await imap.append('INBOX', raw, flags);
    if (!res || !res.uid) throw new Error('APPEND gave no uid');
    uid[name] = res.uid;
}

beforeAll(async () => {
    dovecot = await startDovecot();
    imap = await openInbox();
    for (const n of [1, 2, 3]) await append(`v${n}`, asteriskVoicemail({ mailbox: '1000', msgNum: n }));
    await append('v4', asteriskVoicemail({ mailbox: '1000', msgNum: 4, urgent: true }), ['\\Flagged']); // app_voicemail APPENDs urgent with \Flagged
    await append('v5', asteriskVoicemail({ mailbox: '1000', msgNum: 5 }), ['\\Seen']);
    await append('w1', asteriskVoicemail({ mailbox: '10001', msgNum: 1 }));
    await append('w2', asteriskVoicemail({ mailbox: '10001', msgNum: 2 }));
    await append('g1', asteriskVoicemail({ mailbox: '1000', messageType: 'unavail' }));
    await append('g2', asteriskVoicemail({ mailbox: '1000', messageType: 'greet' }), ['\\Seen']);
    await append('o1', asteriskVoicemail({ mailbox: '1000', context: 'other', msgNum: 1 }));
    await append('e1', plainEmail('about extension 1000'));
});

afterAll(async () => {
    await imap?.logout().catch(() => undefined);
    await dovecot?.destroy();
});

describe('counting as app_voicemail', () => {
    it('counts exactly: substring matches (10001, 100) and greetings never count', async () => {
        const c = await dovecot.imap(ALICE);
        try {
            expect(await countBox(c, box('1000'))).toEqual({ new: 4, old: 1, urgent: 1 });
            expect(await countBox(c, box('10001'))).toEqual({ new: 2, old: 0, urgent: 0 });
            expect(await countBox(c, box('100'))).toEqual({ new: 0, old: 0, urgent: 0 });
            expect(await countBox(c, box('1000', 'other'))).toEqual({ new: 1, old: 0, urgent: 0 });
            expect(await countBox(c, box('1000', 'default', 'Voicemail'))).toEqual({ new: 0, old: 0, urgent: 0 }); // folder does not exist
        } finally {
            await c.logout();
        }
    });

    it('vmbridge mwi prints a box once as JSON; exit 69 when IMAP is unreachable', async () => {
        const out: string[] = [];
        const spy = vi.spyOn(process.stdout, 'write').mockImplementation(s => (out.push(String(s)), true));
        const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
        try {
            expect(await main(['node', 'vmbridge', 'mwi', '--imap', dovecot.imapUrl, '--user', ALICE, '--box', '10001@default'])).toBe(0);
            const port = await freePort();
            expect(await main(['node', 'vmbridge', 'mwi', '--imap', `imap://m:p@127.0.0.1:${port}`, '--user', ALICE, '--box', '1000'])).toBe(69);
            expect(await main(['node', 'vmbridge', 'mwi', '--user', ALICE, '--box', '1000'])).toBe(64);
        } finally {
            spy.mockRestore();
            errSpy.mockRestore();
        }
        expect(out.map(l => JSON.parse(l))).toEqual([{ mailbox: '10001@default', user: ALICE, folder: 'INBOX', new: 2, old: 0, urgent: 0 }]);
    });
});

describe('event-driven MWI', () => {
    let ami: FakeAmi;
    let proxy: TcpProxy;
    let mwi: Mwi;
    let confDir: string;
    const events: VmEvent[] = [];
    const log = captureLogger();
    const mwiOf = (id: string) =>
        events
            .filter(ofType('mwi'))
            .filter(e => e.mwi.mailbox === id)
            .map(e => e.mwi);
    const lastOf = (id: string) => mwiOf(id).at(-1);
    const ev = (fields: EventInit) => makeEvent({ id: `t.${Math.random()}`, user: ALICE, mailbox: 'INBOX', ...fields });
    const vmFlag = (u: number, set: string[]) => ev({ type: 'flag', uid: u, class: 'voicemail', voicemail: vm1000, flags: { set, cleared: [] } });
    /** Waits for the next mwi event of a box and for Asterisk to have the same counts. */
    async function expectMwi(id: string, counts: MwiCounts, before: number) {
        const got = await waitFor(() => (mwiOf(id).length > before ? lastOf(id) : undefined), 5000, `mwi for ${id}`);
        expect(got).toEqual({ mailbox: id, ...counts });
        await waitFor(() => ami.actions.some(a => a.Mailbox === id && a.NewMessages === String(counts.new) && a.OldMessages === String(counts.old)), 5000, 'MWIUpdate');
        await waitFor(() => !mwi.service.busy(), 5000, 'quiet');
    }

    beforeAll(async () => {
        ami = await new FakeAmi().start();
        proxy = await new TcpProxy(dovecot.imapPort).start();
        confDir = mkdtempSync(path.join(tmpdir(), 'vmb-mwi-'));
        const conf = path.join(confDir, 'voicemail.conf');
        writeFileSync(conf, `[default]\n1000 => 1234,Alice,${ALICE},,imapuser=${ALICE}\n10001 => 1234,Alice 2,${ALICE},,imapuser=${ALICE}\n`);
        mwi = createMwi(
            {
                // serve's own schema supplies the defaults a real config has (resync rate, convergence)
                ...z.object(MwiConfigShape).parse({ amiMode: 'mwiupdate', voicemailConf: conf, mwiDebounce: 60, mwiResync: 0 }),
                imap: parseImapUrl(dovecot.imapUrl.replace(`:${dovecot.imapPort}`, `:${proxy.port}`)),
                ami: parseAmiUrl(ami.url)
            },
            { out: { emit: e => void events.push(e) }, logger: log.logger }
        )!;
        mwi.start();
    });

    afterAll(async () => {
        await mwi?.stop();
        await ami?.stop();
        await proxy?.stop();
        rmSync(confDir, { recursive: true, force: true });
    });

    it('publishes the initial counts of every configured box on request', async () => {
        mwi.service.request(mwi.boxes.all(), true);
        await expectMwi('1000@default', { new: 4, old: 1, urgent: 1 }, 0);
        await expectMwi('10001@default', { new: 2, old: 0, urgent: 0 }, 0);
        expect(events.every(e => e.type === 'mwi' && e.user === ALICE)).toBe(true);
    });

    it('STORE \\Seen on a voicemail of 1000: new drops by one at once; 10001 unchanged', async () => {
        const n1000 = mwiOf('1000@default').length;
        const n10001 = mwiOf('10001@default').length;
        await imap.messageFlagsAdd(String(uid.v1), ['\\Seen'], { uid: true });
        mwi.trigger.emit(vmFlag(uid.v1, ['\\Seen']));
        await expectMwi('1000@default', { new: 3, old: 2, urgent: 1 }, n1000);
        // an event of unknown class in INBOX recounts both boxes; only a change is published
        mwi.trigger.emit(ev({ type: 'flag', uid: uid.e1, flags: { set: ['\\Seen'], cleared: [] } }));
        await waitFor(() => !mwi.service.busy(), 5000, 'quiet');
        expect(mwiOf('10001@default')).toHaveLength(n10001);
        expect(mwi.service.counts('10001@default')).toEqual({ new: 2, old: 0, urgent: 0 });
    });

    it('\\Flagged makes a new voicemail urgent (new includes urgent)', async () => {
        const n = mwiOf('1000@default').length;
        await imap.messageFlagsAdd(String(uid.v2), ['\\Flagged'], { uid: true });
        mwi.trigger.emit(vmFlag(uid.v2, ['\\Flagged']));
        await expectMwi('1000@default', { new: 3, old: 2, urgent: 2 }, n);
    });

    it('\\Deleted takes a voicemail out of the count; the expunge changes nothing more', async () => {
        const n = mwiOf('1000@default').length;
        await imap.messageFlagsAdd(String(uid.v3), ['\\Deleted'], { uid: true });
        mwi.trigger.emit(vmFlag(uid.v3, ['\\Deleted']));
        await expectMwi('1000@default', { new: 2, old: 2, urgent: 2 }, n);
        await imap.messageDelete(String(uid.v3), { uid: true });
        mwi.trigger.emit(ev({ type: 'delete', uid: uid.v3, class: 'voicemail', voicemail: vm1000 }));
        await waitFor(() => !mwi.service.busy(), 5000, 'quiet');
        expect(mwiOf('1000@default')).toHaveLength(n + 1);
        expect(mwi.service.counts('1000@default')).toEqual({ new: 2, old: 2, urgent: 2 });
    });

    it('MOVE to Old takes a voicemail out of the count (as for Asterisk)', async () => {
        const n = mwiOf('1000@default').length;
        const moved = await imap.messageMove(String(uid.v4), 'Old', { uid: true });
        expect(moved).toBeTruthy();
        mwi.trigger.emit(ev({ type: 'move', mailbox: 'Old', from: { mailbox: 'INBOX', uid: uid.v4 }, to: { mailbox: 'Old' }, class: 'voicemail', voicemail: vm1000 }));
        await expectMwi('1000@default', { new: 1, old: 2, urgent: 1 }, n);
    });

    it('greetings never trigger and never count', async () => {
        const n = events.length;
        await imap.messageFlagsAdd(String(uid.g1), ['\\Seen'], { uid: true });
        mwi.trigger.emit(ev({ type: 'flag', uid: uid.g1, class: 'greeting', voicemail: { ...vm1000, messageType: 'unavail' }, flags: { set: ['\\Seen'], cleared: [] } }));
        await append('g3', asteriskVoicemail({ mailbox: '1000', messageType: 'busy' }));
        mwi.trigger.emit(ev({ type: 'newmail', uid: uid.g3, class: 'greeting', voicemail: { ...vm1000, messageType: 'busy' } }));
        expect(mwi.service.busy()).toBe(false);
        mwi.service.request([mwi.boxes.get('1000@default')!]);
        await waitFor(() => !mwi.service.busy(), 5000, 'quiet');
        expect(events).toHaveLength(n);
        expect(mwi.service.counts('1000@default')).toEqual({ new: 1, old: 2, urgent: 1 });
    });

    it('keeps the last good count while IMAP is unreachable (never -1), and recovers', async () => {
        const n = events.length;
        await proxy.stop();
        await imap.messageFlagsAdd(String(uid.v5), ['\\Flagged'], { uid: true }); // old stays old
        mwi.trigger.emit(vmFlag(uid.v5, ['\\Flagged']));
        await waitFor(() => log.records.some(r => /keeping the last count/.test(r.msg)), 15_000, 'failure logged');
        await waitFor(() => !mwi.service.busy(), 15_000, 'quiet');
        expect(events).toHaveLength(n);
        expect(mwi.service.counts('1000@default')).toEqual({ new: 1, old: 2, urgent: 1 });
        await proxy.start();
        await append('v6', asteriskVoicemail({ mailbox: '1000', msgNum: 6 }));
        mwi.trigger.emit(ev({ type: 'newmail', uid: uid.v6, class: 'voicemail', voicemail: vm1000 }));
        await expectMwi('1000@default', { new: 2, old: 2, urgent: 1 }, mwiOf('1000@default').length);
    });
});

describe('coalescing', () => {
    // When the runs start is test/mwi/scheduler.test.ts's (fake timers); here, against Dovecot, how many and never two at once.
    it('a burst of 50 triggers for one box runs at most 2 recounts, never two at once', async () => {
        const { logger } = captureLogger();
        const pool = new ImapPool(parseImapUrl(dovecot.imapUrl), { logger });
        const real = new ImapCounter(pool);
        let starts = 0;
        let running = 0;
        let maxRunning = 0;
        const counter = {
            async count(b: ReturnType<typeof box>) {
                starts++;
                maxRunning = Math.max(maxRunning, ++running);
                try {
                    return await real.count(b);
                } finally {
                    running--;
                }
            }
        };
        const events: VmEvent[] = [];
        const boxes = new BoxDirectory();
        const service = new MwiService({ boxes, counter, out: { emit: e => void events.push(e) }, logger, debounceMs: 80 });
        const trigger = new MwiTrigger(boxes, service);
        try {
            for (let i = 0; i < 50; i++) {
                trigger.emit(
                    makeEvent({ id: `b${i}`, type: 'flag', user: ALICE, mailbox: 'INBOX', class: 'voicemail', voicemail: vm1000, flags: { set: ['\\Seen'], cleared: [] } })
                );
            }
            await waitFor(() => !service.busy(), 5000, 'quiet');
            expect(starts).toBeGreaterThanOrEqual(1);
            expect(starts).toBeLessThanOrEqual(2);
            expect(maxRunning).toBe(1);
            // learned from the events: 1000@default lives in alice's INBOX; one event, the current counts
            expect(events.map(e => asType(e, 'mwi').mwi)).toEqual([{ mailbox: '1000@default', ...(await real.count(box('1000'))) }]);
        } finally {
            service.stop();
            await pool.close();
        }
    });

    it('the periodic resync heals a change no event reported', async () => {
        const { logger } = captureLogger();
        const pool = new ImapPool(parseImapUrl(dovecot.imapUrl), { logger });
        const events: VmEvent[] = [];
        const boxes = new BoxDirectory();
        boxes.learn(makeEvent({ id: 'l', type: 'newmail', user: ALICE, mailbox: 'INBOX', class: 'voicemail', voicemail: vm1000 }));
        const service = new MwiService({ boxes, counter: new ImapCounter(pool), out: { emit: e => void events.push(e) }, logger, debounceMs: 20 });
        const resync = new Resync(boxes, service, { intervalMs: 150, ratePerSec: 100 });
        try {
            await append('r1', asteriskVoicemail({ mailbox: '1000', msgNum: 20 }));
            resync.start();
            await waitFor(() => events.length === 1, 5000, 'first resync');
            const before = asType(events[0], 'mwi').mwi;
            expect(before.new).toBeGreaterThan(0);
            await imap.messageFlagsAdd(String(uid.r1), ['\\Seen'], { uid: true }); // no event for this one
            await waitFor(() => events.length === 2, 5000, 'healing resync');
            expect(asType(events[1], 'mwi').mwi).toEqual({ ...before, new: before.new - 1, old: before.old + 1 });
        } finally {
            resync.stop();
            service.stop();
            await pool.close();
        }
    });

    it('the pool reuses sessions and waits for a free one at its limit', async () => {
        const { logger } = captureLogger();
        const pool = new ImapPool(parseImapUrl(dovecot.imapUrl), { logger, max: 1 });
        const counter = new ImapCounter(pool);
        try {
            const [a, b, c] = await Promise.all([counter.count(box('1000')), counter.count(makeBox({ mailbox: '1000', user: 'bob@example.org' })), counter.count(box('10001'))]);
            const direct = await dovecot.imap(ALICE);
            try {
                expect(a).toEqual(await countBox(direct, box('1000')));
                expect(c).toEqual(await countBox(direct, box('10001')));
            } finally {
                await direct.logout();
            }
            expect(b).toEqual({ new: 0, old: 0, urgent: 0 });
            expect(a.new + a.old).toBeGreaterThan(0);
        } finally {
            await pool.close();
        }
    });
});
