// Convergence against a real Dovecot and an AMI server that behaves like Asterisk with IMAP
// storage: it recounts a box over IMAP after each VoicemailRefresh (counting greetings in INBOX, as
// app_voicemail does) and publishes MessageWaiting. vmbridge (refresh mode) must correct a stale
// state (the VoiceMailMain hangup case), push counts at start and after a reconnect, make refusals
// visible, and never loop on states Asterisk keeps re-publishing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { first, parseHeaders } from '../../src/classify/headers.js';
import { makeEvent } from '../../src/events/event.js';
import { registry } from '../../src/metrics.js';
import { createMwi, type Mwi } from '../../src/mwi/index.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { waitFor } from '../helpers/net.js';
import { FakeAmi, type BoxCounts } from './fake-ami.js';
import { captureLogger } from './log-capture.js';
import { asteriskVoicemail } from './vm-message.js';
import { parseImapUrl } from '../../src/imap/target.js';
import { parseAmiUrl } from '../../src/mwi/ami.js';

const ALICE = 'alice@example.org';
const B1000 = '1000@default';
const B10001 = '10001@default';

let dovecot: TestDovecot;
let imap: ImapFlow; // the test's (and the "phone's") own session
let pbx: ImapFlow; // app_voicemail's session
let ami: FakeAmi;
let confDir: string;
let conf: string;

/** app_voicemail's IMAP count: its HEADER search, compared whole, greetings included. */
async function asteriskCount(mailbox: string, context: string): Promise<BoxCounts> {
    const lock = await pbx.getMailboxLock('INBOX', { readOnly: true });
    try {
        await pbx.noop();
        const uids = (await pbx.search({ header: { 'X-Asterisk-VM-Extension': mailbox, 'X-Asterisk-VM-Context': context }, deleted: false }, { uid: true })) || [];
        const c = { new: 0, old: 0, urgent: 0 };
        if (!uids.length) return c;
        for await (const m of pbx.fetch(uids, { flags: true, headers: ['x-asterisk-vm-extension'] }, { uid: true })) {
            if (first(parseHeaders(m.headers ?? Buffer.alloc(0)), 'x-asterisk-vm-extension')?.trim() !== mailbox) continue;
            if (m.flags?.has('\\Seen')) c.old++;
            else {
                c.new++;
                if (m.flags?.has('\\Flagged')) c.urgent++;
            }
        }
        return c;
    } finally {
        lock.release();
    }
}

async function append(raw: Buffer, flags: string[] = []): Promise<number> {
    const res = await imap.append('INBOX', raw, flags);
    if (!res || !res.uid) throw new Error('APPEND gave no uid');
    return res.uid;
}

function startMwi(log = captureLogger()): { mwi: Mwi; log: ReturnType<typeof captureLogger> } {
    const mwi = createMwi(
        {
            imap: parseImapUrl(dovecot.imapUrl),
            ami: parseAmiUrl(ami.url),
            amiMode: 'refresh',
            voicemailConf: conf,
            mwiDebounce: 20,
            mwiResync: 0,
            mwiResyncRate: 100,
            mwiConverge: 250,
            mwiCorrections: 3,
            imapMasterSeparator: '*'
        },
        { out: { emit: () => undefined }, logger: log.logger }
    )!;
    mwi.start();
    return { mwi, log };
}

/**
 * Barrier: a MailboxCount round trip (every event Asterisk wrote before its answer has been read),
 * then no recount, resync or convergence check pending; repeated until no new action appeared.
 */
async function settled(mwi: Mwi): Promise<void> {
    const work = () => ami.actions.filter(a => a.Action !== 'MailboxCount').length;
    for (let before = -1; before !== work();) {
        before = work();
        await mwi.ami!.send({ Action: 'MailboxCount', Mailbox: B1000 });
        await waitFor(() => !mwi.busy(), 10_000, 'mwi quiet');
        await mwi.ami!.send({ Action: 'MailboxCount', Mailbox: B1000 });
    }
}

const refreshes = (box: string, from = 0) => ami.actions.slice(from).filter(a => a.Action === 'VoicemailRefresh' && `${a.Mailbox}@${a.Context}` === box);
const lastState = (box: string) => ami.states(box).at(-1);
const flagEvent = (uid: number, mailbox: string, set: string[]) =>
    makeEvent({
        id: `t.${Math.random()}`,
        type: 'flag',
        user: ALICE,
        mailbox: 'INBOX',
        uid,
        class: 'voicemail',
        voicemail: { mailbox, context: 'default' },
        flags: { set, cleared: [] }
    });

async function metric(name: string, labels: Record<string, string>): Promise<number> {
    const values = (await registry.getSingleMetric(name)!.get()).values;
    return values.find(v => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

beforeAll(async () => {
    dovecot = await startDovecot();
    imap = await dovecot.imap(ALICE);
    await imap.mailboxOpen('INBOX');
    pbx = await dovecot.imap(ALICE);
    ami = await new FakeAmi({ count: asteriskCount, version: '9.0.0' }).start();
    confDir = mkdtempSync(path.join(tmpdir(), 'vmb-converge-'));
    conf = path.join(confDir, 'voicemail.conf');
    writeFileSync(conf, `[default]\n1000 => 1234,Alice,${ALICE},,imapuser=${ALICE}\n10001 => 1234,Alice 2,${ALICE},,imapuser=${ALICE}\n`);
});

afterAll(async () => {
    await imap?.logout().catch(() => undefined);
    await pbx?.logout().catch(() => undefined);
    await ami?.stop();
    await dovecot?.destroy();
    if (confDir) rmSync(confDir, { recursive: true, force: true });
});

describe('convergence with what Asterisk publishes', () => {
    let mwi: Mwi;
    let log: ReturnType<typeof captureLogger>;
    const uid: Record<string, number> = {};

    afterAll(async () => {
        await mwi?.stop();
    });

    it('at start: one info line with the banner version, every configured box counted and pushed', async () => {
        uid.v1 = await append(asteriskVoicemail({ mailbox: '1000', msgNum: 1 }));
        uid.w1 = await append(asteriskVoicemail({ mailbox: '10001', msgNum: 1 }));
        ({ mwi, log } = startMwi());
        await waitFor(() => refreshes(B1000).length && refreshes(B10001).length, 10_000, 'refresh of both boxes');
        await settled(mwi);
        expect(log.records.filter(r => r.level === 30 && /^AMI connected/.test(r.msg)).map(r => r.msg)).toEqual(['AMI connected (Asterisk Call Manager/9.0.0)']);
        expect(ami.logins.at(-1)).not.toBe('off');
        expect(lastState(B1000)).toEqual({ new: 1, old: 0 });
        expect(lastState(B10001)).toEqual({ new: 1, old: 0 });
    });

    it('VoiceMailMain hangup: the stale state Asterisk publishes is corrected', async () => {
        const atCallStart = await ami.count(B1000); // {new 1, old 0}
        // the phone plays the message: app_voicemail sets \Seen; Dovecot's hook reports it
        await imap.messageFlagsAdd(String(uid.v1), ['\\Seen'], { uid: true });
        const n = refreshes(B1000).length;
        mwi.trigger.emit(flagEvent(uid.v1, '1000', ['\\Seen']));
        await waitFor(() => refreshes(B1000).length > n, 10_000, 'refresh after \\Seen');
        await settled(mwi);
        expect(lastState(B1000)).toEqual({ new: 0, old: 1 });
        const sent = await metric('vmbridge_mwi_corrections_total', { result: 'sent' });
        // hangup: Asterisk publishes the counts from the start of the call again
        const staleAt = ami.published.length;
        const actionsAt = ami.actions.length;
        ami.publish(B1000, atCallStart);
        await waitFor(() => refreshes(B1000, actionsAt).length > 0, 10_000, 'correction');
        await settled(mwi);
        // the correction came after the stale state, and Asterisk's last word is right again
        expect(ami.published.slice(staleAt).map(e => ({ new: Number(e.New), old: Number(e.Old) }))).toEqual([
            { new: 1, old: 0 },
            { new: 0, old: 1 }
        ]);
        expect(refreshes(B1000, actionsAt)).toHaveLength(1);
        expect(await metric('vmbridge_mwi_corrections_total', { result: 'sent' })).toBe(sent + 1);
    });

    it('urgent: Asterisk re-publishing an identical state (60 times) causes no refresh at all', async () => {
        uid.u1 = await append(asteriskVoicemail({ mailbox: '1000', msgNum: 2, urgent: true }), ['\\Flagged']);
        mwi.trigger.emit(
            makeEvent({
                id: 'u1',
                type: 'newmail',
                user: ALICE,
                mailbox: 'INBOX',
                uid: uid.u1,
                class: 'voicemail',
                voicemail: { mailbox: '1000', context: 'default', urgent: true }
            })
        );
        await waitFor(() => lastState(B1000)?.new === 1, 10_000, 'urgent counted');
        await settled(mwi);
        const published = ami.published.at(-1)!;
        expect(published).toMatchObject({ Waiting: '0', New: '1', Old: '1' }); // only urgent new
        const actionsAt = ami.actions.length;
        for (let i = 0; i < 60; i++) ami.publish(B1000, { new: 1, old: 1, urgent: 1 });
        await settled(mwi);
        expect(refreshes(B1000, actionsAt)).toEqual([]);
    });

    it('an Asterisk that counts differently (a greeting in INBOX) is corrected once, then left alone', async () => {
        const warnings = () => log.records.filter(r => r.level === 40 && /keeps publishing/.test(r.msg) && r.box === B10001);
        await append(asteriskVoicemail({ mailbox: '10001', messageType: 'unavail' })); // app_voicemail counts it, vmbridge does not
        uid.w2 = await append(asteriskVoicemail({ mailbox: '10001', msgNum: 2 }));
        const actionsAt = ami.actions.length;
        const suppressed = await metric('vmbridge_mwi_corrections_total', { result: 'suppressed' });
        mwi.trigger.emit(
            makeEvent({ id: 'w2', type: 'newmail', user: ALICE, mailbox: 'INBOX', uid: uid.w2, class: 'voicemail', voicemail: { mailbox: '10001', context: 'default' } })
        );
        await waitFor(() => warnings().length, 10_000, 'steady-state warning');
        await settled(mwi);
        // the change (2 new) and one correction; Asterisk answers both with its own 3 new
        expect(refreshes(B10001, actionsAt)).toHaveLength(2);
        expect(lastState(B10001)).toEqual({ new: 3, old: 0 });
        expect(mwi.service.counts(B10001)).toEqual({ new: 2, old: 0, urgent: 0 });
        for (let i = 0; i < 60; i++) ami.publish(B10001, { new: 3, old: 0, urgent: 0 });
        await settled(mwi);
        expect(refreshes(B10001, actionsAt)).toHaveLength(2);
        expect(await metric('vmbridge_mwi_corrections_total', { result: 'suppressed' })).toBeGreaterThanOrEqual(suppressed + 61);
        expect(warnings()).toHaveLength(1);
    });

    it('a refused action: warn log with the manager.conf fix, the metric, degraded health; ok again once allowed', async () => {
        const refused = await metric('vmbridge_ami_actions_total', { action: 'VoicemailRefresh', result: 'refused' });
        ami.refuse('VoicemailRefresh');
        await imap.messageFlagsRemove(String(uid.v1), ['\\Seen'], { uid: true });
        mwi.trigger.emit(
            makeEvent({
                id: `s.${Math.random()}`,
                type: 'flag',
                user: ALICE,
                mailbox: 'INBOX',
                uid: uid.v1,
                class: 'voicemail',
                voicemail: { mailbox: '1000', context: 'default' },
                flags: { set: [], cleared: ['\\Seen'] }
            })
        );
        const warn = await waitFor(() => log.records.find(r => r.level === 40 && /refused/.test(r.msg)), 10_000, 'refusal warning');
        expect(warn.msg).toBe(
            `AMI VoicemailRefresh for ${B1000} refused: Permission denied; manager.conf: give the vmbridge user the "user" write class (e.g. write = system,call,reporting,user), then "manager reload"`
        );
        expect(await metric('vmbridge_ami_actions_total', { action: 'VoicemailRefresh', result: 'refused' })).toBe(refused + 1);
        expect(mwi.health()).toMatchObject({ status: 'degraded', connected: true, refused: [{ action: 'VoicemailRefresh', box: B1000, reason: 'Permission denied' }] });
        ami.allow('VoicemailRefresh');
        mwi.resyncAll('test');
        await waitFor(() => mwi.health()?.status === 'ok', 10_000, 'healthy again');
        await settled(mwi);
        expect(lastState(B1000)).toEqual({ new: 2, old: 0 });
    });

    it('a dropped connection: reconnect, one more info line, every box pushed again', async () => {
        const actionsAt = ami.actions.length;
        const logins = ami.logins.length;
        ami.drop();
        await waitFor(() => ami.logins.length > logins, 10_000, 'login again');
        await waitFor(() => refreshes(B1000, actionsAt).length && refreshes(B10001, actionsAt).length, 10_000, 'push after reconnect');
        await settled(mwi);
        expect(log.records.filter(r => r.level === 30 && /^AMI connected/.test(r.msg))).toHaveLength(2);
        expect(log.records.some(r => r.level === 40 && /AMI unavailable/.test(r.msg))).toBe(true);
    });

    it('a change made while vmbridge was down reaches Asterisk after start', async () => {
        await mwi.stop();
        await imap.messageFlagsAdd(String(uid.v1), ['\\Seen'], { uid: true }); // no vmbridge to see it
        expect(lastState(B1000)).toEqual({ new: 2, old: 0 });
        const actionsAt = ami.actions.length;
        ({ mwi, log } = startMwi());
        await waitFor(() => refreshes(B1000, actionsAt).length, 10_000, 'refresh at start');
        await settled(mwi);
        expect(lastState(B1000)).toEqual({ new: 1, old: 1 });
    });
});
