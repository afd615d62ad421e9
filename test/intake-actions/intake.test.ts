// Intake with message handling, against the in-memory deliverer and a real SMTP smart host:
// what must never happen (a truncated or oversized copy relayed, a wrong option accepted) and
// the paths the Dovecot end-to-end test does not take (big headers held across many chunks, the
// SMTP listener's single reply, reload keeping the old settings on a bad new one).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DeliveryRules } from '../../src/intake/rules.js';
import { createLogger } from '../../src/log.js';
import { dataPayload, LineClient, send } from '../helpers/lmtp-client.js';
import { waitFor } from '../helpers/net.js';
import { startIntake, type TestIntake } from '../reliability/intake-harness.js';
import { startSmartHost, type TestSmartHost } from './smart-host.js';

const VOICEMAIL = readFileSync(path.join(import.meta.dirname, '../fixtures/messages/asterisk-voicemail.eml'));
const FAX = readFileSync(path.join(import.meta.dirname, '../fixtures/classify/fax-message-context.eml'));
const ACTIONS = JSON.stringify({ default: { fax: 'reject' }, users: { 'alice@example.org': { voicemail: { relay: 'alice@exchange.example.com' } } } });
const log = createLogger('silent');

let smart: TestSmartHost;
let intake: TestIntake | undefined;
/** Smart host connections: how many this test opened, and which are still open. */
let opened = 0;
const live = new Set<string>();
const dir = mkdtempSync(path.join(tmpdir(), 'vmb-intake-actions-'));

beforeAll(async () => {
    smart = await startSmartHost({
        onConnect: (s, cb) => {
            opened++;
            live.add(s.id);
            cb();
        },
        onClose: s => void live.delete(s.id)
    });
});
afterAll(async () => {
    await smart.close();
    rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
    await intake?.server.close();
    intake = undefined;
    await waitFor(() => live.size === 0, 5000, 'smart host connections closed'); // a QUIT may still be under way
    smart.received.length = 0;
    opened = 0;
});

const handled = (extra: Record<string, unknown> = {}) => ({ smartHost: smart.url, classActions: ACTIONS, unknownRecipient: 'relay', recipientMap: mapFile(), ...extra });

function mapFile(): string {
    const file = path.join(dir, 'map');
    writeFileSync(file, 'alice@example.org alice@example.org\nbob@example.org bob@example.org\n');
    return file;
}

async function openData(port: number, rcpts: string[]): Promise<LineClient> {
    const c = await LineClient.connect(port);
    await c.reply();
    await c.command('LHLO x.example');
    expect((await c.command('MAIL FROM:<pbx@example.org>')).code).toBe(250);
    for (const r of rcpts) expect((await c.command(`RCPT TO:<${r}>`)).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
    return c;
}

describe('intake with message handling', () => {
    it('holds a large header across many small chunks and sends the same bytes to the downstream and the smart host', async () => {
        intake = await startIntake(handled());
        const header = Array.from({ length: 1500 }, (_, i) => `X-Trace-${i}: ${'t'.repeat(60)}\r\n`).join('');
        const body = Buffer.from('QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\r\n'.repeat(48_000));
        const msg = Buffer.concat([Buffer.from(header), VOICEMAIL, body]);
        const c = await openData(intake.port, ['alice@example.org', 'stranger@elsewhere.example', 'bob@example.org']);
        const payload = dataPayload(msg);
        for (let i = 0; i < payload.length; i += 1000) c.write(payload.subarray(i, i + 1000));
        const replies = [await c.reply(), await c.reply(), await c.reply()];
        c.close();
        expect(replies.map(r => r.code)).toEqual([250, 250, 250]);
        expect(smart.received.map(r => r.to)).toEqual([['alice@exchange.example.com', 'stranger@elsewhere.example']]);
        expect(smart.received[0].data.equals(msg)).toBe(true);
        expect(intake.deliverer.stored.map(s => s.rcpt.user)).toEqual(['bob@example.org']);
        expect(intake.deliverer.stored[0].body.equals(msg)).toBe(true);
    });

    it('relays nothing and stores nothing when the message exceeds the size limit', async () => {
        intake = await startIntake(handled({ maxSize: 100_000 }));
        const c = await openData(intake.port, ['alice@example.org', 'stranger@elsewhere.example', 'bob@example.org']);
        const payload = dataPayload(Buffer.concat([VOICEMAIL, Buffer.alloc(300_000, 'x\r\n')]));
        c.write(payload.subarray(0, 50_000));
        await waitFor(() => opened > 0, 5000, 'the relay under way'); // the limit strikes mid-relay
        c.write(payload.subarray(50_000));
        const replies = [await c.reply(), await c.reply(), await c.reply()];
        c.close();
        for (const r of replies) expect(`${r.code} ${r.text}`).toMatch(/^552 5\.3\.4 /);
        await waitFor(() => live.size === 0, 2000, 'smart host connections closed');
        expect(smart.received).toHaveLength(0);
        expect(intake.deliverer.stored).toHaveLength(0);
    });

    it('relays nothing and stores nothing when the client goes away mid-DATA', async () => {
        intake = await startIntake(handled());
        const c = await openData(intake.port, ['stranger@elsewhere.example', 'bob@example.org']);
        c.write(VOICEMAIL.subarray(0, 1200)); // header complete, body under way, no final dot
        await waitFor(() => opened > 0, 5000, 'the relay under way');
        c.sock.destroy();
        await waitFor(() => live.size === 0 && intake!.deliverer.aborted > 0, 5000, 'both copies abandoned');
        expect(smart.received).toHaveLength(0);
        expect(intake.deliverer.stored).toHaveLength(0);
    });

    it('gives the SMTP listener one reply: a refusal when every copy is refused', async () => {
        intake = await startIntake(handled(), { lmtp: false });
        const r = await send(intake.port, 'fax@example.com', ['alice@example.org', 'bob@example.org'], FAX, { lmtp: false });
        expect(r.final.map(f => `${f.code} ${f.text}`)).toEqual(['550 5.7.1 Message refused: fax messages are not accepted for this recipient']);
        expect(intake.deliverer.stored).toHaveLength(0);
    });

    it('keeps the previous map and actions when a reload brings a bad setting', async () => {
        intake = await startIntake(handled({ unknownRecipient: 'reject' }));
        intake.server.reload(loadConfig({ ...handled({ unknownRecipient: 'reject' }), classActions: '{"default":{"fax":"shred"}}' }, {}));
        const r = await send(intake.port, 'fax@example.com', ['nobody@example.org', 'bob@example.org'], FAX);
        expect([...r.rcpt.map(x => x.code), ...r.final.map(x => x.code)]).toEqual([550, 250, 550]);
    });
});

describe('message handling configuration', () => {
    const create = (flags: Record<string, unknown>) => DeliveryRules.create(loadConfig(flags, {}), log);

    it('refuses relays without a smart host, bad actions and bad map files, naming the option', () => {
        expect(() => create({ unknownRecipient: 'relay' })).toThrow(/--unknown-recipient: relay needs --smart-host/);
        expect(() => create({ classActions: '{"default":{"voicemail":{"relay":"x@example.com"}}}' })).toThrow(/--class-actions: relay actions need --smart-host/);
        expect(() => create({ classActions: '{"default":{"fax":"shred"}}' })).toThrow(/--class-actions: default\.fax/);
        expect(() => create({ classActions: '{' })).toThrow(/--class-actions/);
        expect(() => create({ smartHost: 'smtp://mx/path' })).toThrow(/--smart-host/);
        expect(() => create({ privateHeader: 'Bad Header: x' })).toThrow(/--private-header/);
        const bad = path.join(dir, 'bad.map');
        writeFileSync(bad, 'one-field\n');
        expect(() => create({ recipientMap: bad })).toThrow(`${bad}:1: expected "address user"`);
        for (const fn of [() => create({ unknownRecipient: 'relay' }), () => create({ recipientMap: bad })]) expect(fn).toThrow(ConfigError);
        expect(() => loadConfig({ unknownRecipient: 'bounce' }, {})).toThrow(/--unknown-recipient/);
        expect(() => loadConfig({ smartHost: 'mx.example.com:25' }, {})).toThrow(/--smart-host/);
    });

    it('takes class actions as an object from a config file', () => {
        const file = path.join(dir, 'config.json');
        writeFileSync(file, JSON.stringify({ smartHost: 'smtp://127.0.0.1:2525', classActions: { default: { receipt: { relay: 'r@example.com' } } } }));
        const h = DeliveryRules.create(loadConfig({}, {}, file), log);
        expect(h.actions?.decide({ class: 'receipt' }, Buffer.alloc(0), 'x')).toEqual({ action: 'relay', to: 'r@example.com' });
        expect(DeliveryRules.create(loadConfig({}, {}), log).actions).toBeUndefined();
    });
});
