// Notification e-mails are not a second voicemail (issue 15, item 3): Asterisk's mailcmd and pager
// mails (fixtures asterisk-notify-*, asterisk-pager-*) get class `notification`, keep the metadata
// of the voicemail they announce (box, message number, caller as far as the mail carries them),
// never trigger an MWI recount, and reach subscribers as class notification through the bridge.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../src/classify/classify.js';
import { makeEvent } from '../../src/events/event.js';
import { BoxDirectory, makeBox } from '../../src/mwi/boxes.js';
import { affectedBoxes } from '../../src/mwi/trigger.js';
import { startBridge, Subscriber, type TestBridge } from '../helpers/bridge.js';
import { send } from '../helpers/lmtp-client.js';
import { loadCorpus, tapChunks } from './tap-helpers.js';
import { busUrl } from '../../src/publish/bus-address.js';
import { isMessage } from '../helpers/events.js';

const notifications = loadCorpus().filter(f => /^asterisk-(notify|pager)-/.test(f.name));
const fixture = (name: string) => readFileSync(new URL(`../fixtures/classify/${name}.eml`, import.meta.url));

describe('notification e-mails', () => {
    it('covers every Asterisk notification fixture', () => {
        expect(notifications.length).toBeGreaterThanOrEqual(5);
    });

    it.each(notifications.map(f => [f.name, f] as const))('%s is a notification that names its box and message', async (_n, f) => {
        const r = await tapChunks([f.eml]);
        const c = classify(r.header, r.parts);
        expect(c.class).toBe('notification');
        expect(c.voicemail).toMatchObject({ format: 'asterisk-notify', mailbox: expect.any(String), msgNum: expect.any(Number) });
        // the subject of Asterisk's default template says the same number, 1-based
        const said = /message (\d+) in mailbox (\d+)/.exec(c.subject ?? '');
        if (said) expect([c.voicemail?.msgNum, c.voicemail?.mailbox]).toEqual([Number(said[1]), said[2]]);
    });

    it('never triggers an MWI recount (nor teaches a box), whatever box it names', async () => {
        const dir = new BoxDirectory();
        for (const f of notifications) {
            const r = await tapChunks([f.eml]);
            const c = classify(r.header, r.parts);
            const ev = makeEvent({ id: f.name, type: 'newmail', user: 'alice@example.org', mailbox: 'INBOX', class: c.class, voicemail: c.voicemail });
            expect(affectedBoxes(ev, dir)).toEqual([]);
            expect(dir.all()).toEqual([]);
        }
        // the same metadata on a stored voicemail does
        const stored = makeEvent({
            id: 'vm',
            type: 'newmail',
            user: 'alice@example.org',
            mailbox: 'INBOX',
            class: 'voicemail',
            voicemail: { mailbox: '1000', context: 'default' }
        });
        expect(affectedBoxes(stored, dir)).toEqual([makeBox({ mailbox: '1000', user: 'alice@example.org', folder: 'INBOX' })]);
    });
});

describe('a notification through the bridge', () => {
    let maildir: string;
    let vmb: TestBridge;
    let sub: Subscriber;
    beforeAll(async () => {
        maildir = mkdtempSync(path.join(tmpdir(), 'vmb-notify-'));
        vmb = await startBridge({ deliver: `maildir:${maildir}` });
        sub = new Subscriber(busUrl(vmb.config));
        await sub.ready(vmb.bridge);
    });
    afterAll(async () => {
        sub?.close();
        await vmb?.stop();
        rmSync(maildir, { recursive: true, force: true });
    });

    it('is published as class notification with the announced voicemail, never as voicemail', async () => {
        const r = await send(vmb.lmtpPort, 'asterisk@pbx1.example.com', ['alice@example.org'], fixture('asterisk-notify-crlf'));
        expect(r.final.map(f => f.code)).toEqual([250]);
        const [ev] = await sub.waitFor(e => e.length >= 1, 'newmail');
        expect(ev).toMatchObject({
            type: 'newmail',
            class: 'notification',
            voicemail: { format: 'asterisk-notify', mailbox: '1000', msgNum: 1, callerIdNum: '5551234', callerIdName: 'Alice Example' }
        });
        expect(sub.events.filter(e => isMessage(e) && e.class === 'voicemail')).toEqual([]);
    });
});
