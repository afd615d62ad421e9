// Message handling end to end, as Unity Connection does it: an MTA-side LMTP client → vmbridge →
// real Dovecot over LMTP (RCPT forwarded live), with a real SMTP smart host recording what it got
// and a real memcached holding part of the recipient map. Covers alias mapping (file and
// memcached), the unknown-recipient policies, per-class actions (reject, relay for one user,
// private messages), SIGHUP reloading the map, and 451 while the memcached map is down.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import memjs from 'memjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapKey } from '../../src/intake/recipients.js';
import { startBridge, Subscriber, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send, type SendResult } from '../helpers/lmtp-client.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { startSmartHost, type TestSmartHost } from '../intake-actions/smart-host.js';
import { busUrl } from '../../src/publish/bus-address.js';
import { isMessage } from '../helpers/events.js';

const fixture = (dir: string, n: string) => readFileSync(path.join(import.meta.dirname, '../fixtures', dir, n));
const VOICEMAIL = fixture('messages', 'asterisk-voicemail.eml');
const PLAIN = fixture('messages', 'plain.eml');
const FAX = fixture('classify', 'fax-message-context.eml');
const withHeader = (h: string, msg: Buffer) => Buffer.concat([Buffer.from(h + '\r\n'), msg]);

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';
const CAROL = 'carol@example.org';
const PBX = 'asterisk@pbx.example.org';
const EXCHANGE = 'alice@exchange.example.com';

/** Dovecot prepends its own trace headers; what follows them must be exactly what was sent. */
const storedAsSent = (stored: Buffer, sent: Buffer) => stored.length >= sent.length && stored.subarray(stored.length - sent.length).equals(sent);
const codes = (r: SendResult) => ({ rcpt: r.rcpt.map(x => x.code), final: r.final.map(x => x.code) });

let dovecot: TestDovecot;
let smart: TestSmartHost;
let dir: string;

beforeAll(async () => {
    [dovecot, smart] = await Promise.all([startDovecot(), startSmartHost()]);
    dir = mkdtempSync(path.join(tmpdir(), 'vmb-handling-'));
});

afterAll(async () => {
    await smart?.close();
    await dovecot?.destroy();
    rmSync(dir, { recursive: true, force: true });
});

async function count(user: string): Promise<number> {
    return (await dovecot.messages(user)).length;
}

/** A bridge in front of Dovecot plus a live bus subscription. */
async function bridgeWith(flags: Record<string, unknown>): Promise<{ vmb: TestBridge; sub: Subscriber }> {
    const vmb = await startBridge({ deliver: dovecot.lmtpUrl, deliverTimeout: 3000, smartHost: smart.url, ...flags });
    const sub = new Subscriber(busUrl(vmb.config));
    await sub.ready(vmb.bridge);
    return { vmb, sub };
}

let barriers = 0;

/** Sends a mail of its own to `rcpt` and waits for its newmail: every event published before it is then in. */
async function barrier(vmb: TestBridge, sub: Subscriber, rcpt: string): Promise<void> {
    const messageId = `<barrier-${++barriers}@test.example>`;
    const r = await send(vmb.lmtpPort, 'barrier@example.org', [rcpt], Buffer.from(`Message-ID: ${messageId}\r\nSubject: barrier\r\n\r\nbarrier\r\n`));
    expect(codes(r).final).toEqual([250]);
    await sub.waitFor(evs => evs.some(e => isMessage(e) && e.messageId === messageId), 'barrier newmail');
    sub.events.splice(
        sub.events.findIndex(e => isMessage(e) && e.messageId === messageId),
        1
    );
}

describe('recipient map, reject policy and class actions', () => {
    let vmb: TestBridge;
    let sub: Subscriber;
    let mc: TestMemcached;
    let mapFile: string;
    const MAP = `# every address Unity-style: primary SMTP addresses and proxy addresses
${ALICE} ${ALICE}
${BOB} ${BOB}
${CAROL} ${CAROL}
Alice.Smith@Corp.Example ${ALICE}   # proxy address
`;

    beforeAll(async () => {
        mc = await startMemcached();
        const client = memjs.Client.create(mc.server, { logger: { log: () => undefined } });
        await client.set(mapKey('vmbridge:rcpt:', 'ext-1000@pbx.example.org'), CAROL, {});
        client.close();
        mapFile = path.join(dir, 'recipients.map');
        writeFileSync(mapFile, MAP);
        ({ vmb, sub } = await bridgeWith({
            recipientMap: mapFile,
            recipientMapServers: mc.resolver,
            unknownRecipient: 'reject',
            classActions: JSON.stringify({ default: { fax: 'reject' }, users: { [ALICE]: { voicemail: { relay: EXCHANGE } } } }),
            privateHeader: 'X-Secure-Message: yes'
        }));
    });

    afterAll(async () => {
        sub?.close();
        await vmb?.stop();
        await mc?.stop();
    });

    it('delivers a proxy address (file) and an extension address (memcached) to the mapped Dovecot users', async () => {
        sub.clear();
        const before = { alice: await count(ALICE), carol: await count(CAROL) };
        const r = await send(vmb.lmtpPort, 'dave@example.net', ['Alice.Smith@Corp.Example', 'ext-1000@pbx.example.org'], PLAIN);
        expect(codes(r)).toEqual({ rcpt: [250, 250], final: [250, 250] });
        const alice = await dovecot.messages(ALICE);
        const carol = await dovecot.messages(CAROL);
        expect([alice.length, carol.length]).toEqual([before.alice + 1, before.carol + 1]);
        expect(storedAsSent(alice.at(-1)!.source, PLAIN)).toBe(true);
        expect(storedAsSent(carol.at(-1)!.source, PLAIN)).toBe(true);
        await sub.waitFor(evs => evs.length >= 2, 'two newmail events');
        expect(sub.events.map(e => [e.type, e.user, isMessage(e) ? e.class : undefined]).sort()).toEqual([
            ['newmail', ALICE, 'email'],
            ['newmail', CAROL, 'email']
        ]);
    });

    it('refuses an unknown recipient with 550 5.1.1 at RCPT and delivers to the others', async () => {
        const before = await count(BOB);
        const r = await send(vmb.lmtpPort, 'dave@example.net', ['nobody@example.org', BOB], PLAIN);
        expect(codes(r)).toEqual({ rcpt: [550, 250], final: [250] });
        expect(r.rcpt[0].text).toMatch(/^5\.1\.1 .*User unknown/);
        expect(await count(BOB)).toBe(before + 1);
    });

    it('rejects a fax with a 5xx saying why: nothing stored, no newmail', async () => {
        sub.clear();
        const before = { bob: await count(BOB), carol: await count(CAROL) };
        const r = await send(vmb.lmtpPort, 'fax@example.com', [BOB, CAROL], FAX);
        expect(codes(r)).toEqual({ rcpt: [250, 250], final: [550, 550] });
        for (const f of r.final) expect(f.text).toBe('5.7.1 Message refused: fax messages are not accepted for this recipient');
        expect([await count(BOB), await count(CAROL)]).toEqual([before.bob, before.carol]);
        await barrier(vmb, sub, BOB);
        expect(sub.events.filter(e => isMessage(e) && e.class === 'fax')).toEqual([]);
    });

    it("relays alice's voicemail to her alternate address byte-identical and stores bob's copy", async () => {
        sub.clear();
        const relayedBefore = smart.received.length;
        const before = { alice: await count(ALICE), bob: await count(BOB) };
        // alice first: Dovecot has her RCPT when the header says her copy goes elsewhere
        const r = await send(vmb.lmtpPort, PBX, [ALICE, BOB], VOICEMAIL);
        expect(codes(r)).toEqual({ rcpt: [250, 250], final: [250, 250] });
        expect(r.final[0].text).toMatch(/^2\.0\.0 Relayed via 127\.0\.0\.1:\d+: 250 /);
        expect(smart.received.slice(relayedBefore)).toHaveLength(1);
        const got = smart.received[relayedBefore];
        expect([got.from, got.to]).toEqual([PBX, [EXCHANGE]]);
        expect(got.data.equals(VOICEMAIL)).toBe(true);
        expect(await count(ALICE)).toBe(before.alice);
        const bob = await dovecot.messages(BOB);
        expect(bob.length).toBe(before.bob + 1);
        expect(storedAsSent(bob.at(-1)!.source, VOICEMAIL)).toBe(true);
        await barrier(vmb, sub, ALICE);
        const voicemails = sub.events.filter(e => isMessage(e) && e.class === 'voicemail');
        expect(voicemails).toHaveLength(1);
        expect(voicemails[0]).toMatchObject({
            type: 'newmail',
            user: BOB,
            voicemail: { mailbox: '1000', callerIdNum: '5551234', audio: { name: 'msg0000.wav', contentType: 'audio/x-wav' } }
        });
    });

    it('never relays a private message (Sensitivity: Private or the configured header); others still get theirs', async () => {
        const relayedBefore = smart.received.length;
        for (const mark of ['Sensitivity: Private', 'X-Secure-Message: YES']) {
            const before = { alice: await count(ALICE), bob: await count(BOB) };
            const r = await send(vmb.lmtpPort, PBX, [ALICE, BOB], withHeader(mark, VOICEMAIL));
            expect(codes(r)).toEqual({ rcpt: [250, 250], final: [550, 250] });
            expect(r.final[0].text).toMatch(/^5\.7\.1 .*private messages may not be relayed/);
            expect([await count(ALICE), await count(BOB)]).toEqual([before.alice, before.bob + 1]);
        }
        expect(smart.received.length).toBe(relayedBefore);
    });

    it('reloads the recipient map file on SIGHUP (bridge.reload)', async () => {
        const alias = 'robert@corp.example';
        expect(codes(await send(vmb.lmtpPort, 'dave@example.net', [alias], PLAIN)).rcpt).toEqual([550]);
        writeFileSync(mapFile, `${MAP}${alias} ${BOB}\n`);
        vmb.bridge.reload(vmb.config);
        const before = await count(BOB);
        expect(codes(await send(vmb.lmtpPort, 'dave@example.net', [alias], PLAIN))).toEqual({ rcpt: [250], final: [250] });
        expect(await count(BOB)).toBe(before + 1);
        // a broken file keeps the map in force
        writeFileSync(mapFile, 'not a valid line at all\n');
        vmb.bridge.reload(vmb.config);
        expect(codes(await send(vmb.lmtpPort, 'dave@example.net', [alias], PLAIN)).rcpt).toEqual([250]);
    });

    it('answers 451 4.4.3 while the memcached map is down, never guessing; file entries still deliver', async () => {
        await mc.stop();
        const r = await send(vmb.lmtpPort, 'dave@example.net', ['ext-1000@pbx.example.org', 'Alice.Smith@Corp.Example'], PLAIN);
        expect(codes(r)).toEqual({ rcpt: [451, 250], final: [250] });
        expect(r.rcpt[0].text).toMatch(/^4\.4\.3 /);
    });
});

describe('unknown recipients relayed to the smart host', () => {
    let vmb: TestBridge;
    let sub: Subscriber;

    beforeAll(async () => {
        ({ vmb, sub } = await bridgeWith({ recipientMap: writeMap(`${BOB} ${BOB}\n`), unknownRecipient: 'relay' }));
    });

    afterAll(async () => {
        sub?.close();
        await vmb?.stop();
    });

    function writeMap(text: string): string {
        const file = path.join(dir, 'relay.map');
        writeFileSync(file, text);
        return file;
    }

    it('relays an unknown recipient byte-identical while the mapped one is stored; one newmail', async () => {
        sub.clear();
        const relayedBefore = smart.received.length;
        const before = await count(BOB);
        const r = await send(vmb.lmtpPort, 'dave@example.net', ['partner@elsewhere.example', BOB], PLAIN);
        expect(codes(r)).toEqual({ rcpt: [250, 250], final: [250, 250] });
        const got = smart.received.slice(relayedBefore);
        expect(got.map(g => [g.from, g.to])).toEqual([['dave@example.net', ['partner@elsewhere.example']]]);
        expect(got[0].data.equals(PLAIN)).toBe(true);
        expect(await count(BOB)).toBe(before + 1);
        await barrier(vmb, sub, BOB);
        expect(sub.events.map(e => [e.user, isMessage(e) ? e.messageId : undefined])).toEqual([[BOB, '<plain-1@example.org>']]);
    });

    it('answers 451 for the relayed recipient while the smart host is down; the local copy is stored', async () => {
        await smart.close();
        const before = await count(BOB);
        const r = await send(vmb.lmtpPort, 'dave@example.net', ['partner@elsewhere.example', BOB], PLAIN);
        expect(codes(r)).toEqual({ rcpt: [250, 250], final: [451, 250] });
        expect(r.final[0].text).toMatch(/^4\.4\.1 Smart host unavailable/);
        expect(await count(BOB)).toBe(before + 1);
    });
});
