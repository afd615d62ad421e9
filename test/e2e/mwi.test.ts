// Message waiting end to end: LMTP deliveries through the bridge and IMAP actions on a real
// Dovecot (with the hook installed by `vmbridge dovecot-config`) give exact counts on the bus and
// MWIUpdate actions at an AMI server, for 1000@default, while 10001@default stays untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MwiEvent } from '../../src/events/event.js';
import { startBridge, Subscriber, type TestBridge } from '../helpers/bridge.js';
import { hookFragment, type HookFragment } from '../helpers/hook-fragment.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort, waitFor } from '../helpers/net.js';
import { FakeAmi } from '../mwi/fake-ami.js';
import { asteriskVoicemail } from '../mwi/vm-message.js';
import { busUrl } from '../../src/publish/bus-address.js';
import { ofType } from '../helpers/events.js';

const TOKEN = 'mwi-e2e-token-0123456789abcdef';
const USER = 'alice@example.org';

describe('message waiting from real IMAP actions', () => {
    let dovecot: TestDovecot;
    let vmb: TestBridge;
    let sub: Subscriber;
    let ami: FakeAmi;
    let adminPort: number;
    const admin = async (p: string) => {
        const res = await fetch(`http://127.0.0.1:${adminPort}${p}`);
        return { status: res.status, text: await res.text() };
    };

    const mwiOf = (box: string) => sub.events.filter(ofType('mwi')).filter(e => e.mwi.mailbox === box);
    const last = (box: string): MwiEvent['mwi'] | undefined => mwiOf(box).at(-1)?.mwi;
    const expectCountsOnBus = (box: string, counts: { new: number; old: number; urgent: number }) =>
        waitFor(
            () => {
                const m = last(box);
                return m && m.new === counts.new && m.old === counts.old && m.urgent === counts.urgent;
            },
            10_000,
            `mwi ${box} ${JSON.stringify(counts)}`
        );
    const expectCounts = async (box: string, counts: { new: number; old: number; urgent: number }) => {
        await expectCountsOnBus(box, counts);
        await waitFor(
            () => ami.actions.some(a => a.Action === 'MWIUpdate' && a.Mailbox === box && a.NewMessages === String(counts.new) && a.OldMessages === String(counts.old)),
            10_000,
            'MWIUpdate'
        );
    };
    const imap = async (fn: (c: Awaited<ReturnType<TestDovecot['imap']>>) => Promise<unknown>) => {
        const c = await dovecot.imap(USER);
        try {
            await fn(c);
        } finally {
            await c.logout();
        }
    };

    let frag: HookFragment | undefined;
    beforeAll(async () => {
        ami = await new FakeAmi().start();
        const ingest = `127.0.0.1:${await freePort()}`;
        frag = hookFragment(['--ingest', ingest, '--ingest-token', TOKEN]); // key file in a temp dir of its own
        dovecot = await startDovecot({ extraConfig: frag.fragment });
        adminPort = await freePort();
        vmb = await startBridge({
            deliver: dovecot.lmtpUrl,
            ingest,
            ingestToken: TOKEN,
            imap: dovecot.imapUrl,
            ami: ami.url,
            amiMode: 'mwiupdate',
            mwiDebounce: 50,
            admin: `127.0.0.1:${adminPort}`
        });
        // (the delete prefix lets the readiness probe through; only mwi events are looked at)
        sub = new Subscriber(busUrl(vmb.config), [`${USER}\tmwi\t`, `${USER}\tdelete\t`]);
        await sub.ready(vmb.bridge, USER);
    });

    afterAll(async () => {
        sub?.close();
        await vmb?.stop();
        await dovecot?.destroy();
        frag?.cleanup();
        await ami?.stop();
    });

    it('counts deliveries per box exactly (10001 never counts under 1000)', async () => {
        for (const m of [{ mailbox: '1000' }, { mailbox: '1000' }, { mailbox: '1000' }, { mailbox: '10001' }]) {
            const r = await send(vmb.lmtpPort, 'pbx@example.org', [USER], asteriskVoicemail(m));
            expect(r.final.map(f => f.code)).toEqual([250]);
        }
        await expectCounts('1000@default', { new: 3, old: 0, urgent: 0 });
        await expectCounts('10001@default', { new: 1, old: 0, urgent: 0 });
    });

    it('reading one in a mail client (\\Seen) turns one new into old; 10001 unchanged', async () => {
        const before10001 = mwiOf('10001@default').length;
        await imap(async c => {
            await c.mailboxOpen('INBOX');
            await c.messageFlagsAdd('1', ['\\Seen'], { uid: true });
        });
        await expectCounts('1000@default', { new: 2, old: 1, urgent: 0 });
        expect(mwiOf('10001@default').length).toBe(before10001);
    });

    it('flagging makes one urgent; deleting and expunging drops it; moving to Old leaves the count', async () => {
        await imap(async c => {
            await c.mailboxOpen('INBOX');
            await c.messageFlagsAdd('2', ['\\Flagged'], { uid: true });
        });
        await expectCounts('1000@default', { new: 2, old: 1, urgent: 1 });
        await imap(async c => {
            await c.mailboxOpen('INBOX');
            await c.messageFlagsAdd('2', ['\\Deleted'], { uid: true });
            await c.messageDelete('2', { uid: true });
        });
        await expectCounts('1000@default', { new: 1, old: 1, urgent: 0 });
        await imap(async c => {
            await c.mailboxOpen('INBOX');
            await c.messageMove('3', 'Old', { uid: true });
        });
        await expectCounts('1000@default', { new: 0, old: 1, urgent: 0 });
        expect(last('10001@default')).toMatchObject({ new: 1, old: 0, urgent: 0 });
    });

    it('MWIUpdate refused (no res_mwi_external_ami): /healthz stays 200 but says degraded with the AMI detail; the metric counts it', async () => {
        const healthy = JSON.parse((await admin('/healthz')).text);
        expect(healthy).toMatchObject({ ok: true, status: 'ok', ami: { status: 'ok', connected: true, version: '9.0.0' } });
        expect((await admin('/metrics')).text).toMatch(/^vmbridge_ami_actions_total\{action="MWIUpdate",result="ok"\} [1-9]/m);
        ami.refuse('MWIUpdate', 'Invalid/unknown command');
        await imap(async c => {
            await c.mailboxOpen('INBOX');
            await c.messageFlagsRemove('1', ['\\Seen'], { uid: true });
        });
        await expectCountsOnBus('1000@default', { new: 1, old: 0, urgent: 0 });
        const h = await waitFor(
            async () => {
                const r = await admin('/healthz');
                const j = JSON.parse(r.text);
                return j.status === 'degraded' ? { ...r, j } : undefined;
            },
            10_000,
            'degraded health'
        );
        expect(h.status).toBe(200);
        expect(h.j.ami).toMatchObject({ status: 'degraded', connected: true, refused: [{ action: 'MWIUpdate', box: '1000@default', reason: 'Invalid/unknown command' }] });
        expect(h.j.ami.refused[0].fix).toMatch(/res_mwi_external_ami/);
        expect((await admin('/metrics')).text).toMatch(/^vmbridge_ami_actions_total\{action="MWIUpdate",result="refused"\} 1$/m);
        ami.allow('MWIUpdate');
    });
});
