// relay() against a real SMTP listener: what the smart host stores is byte-identical to what we
// relayed, and its refusals (or its absence) come back as SMTP errors of the right class.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { classify } from '../../src/classify/classify.js';
import { HeaderTap } from '../../src/classify/header-tap.js';
import { parseSmartHost, relay } from '../../src/deliver/relay.js';
import { SmtpError } from '../../src/deliver/deliverer.js';
import { MessageActions, parseClassActions } from '../../src/intake/actions.js';
import { freePort, waitFor } from '../helpers/net.js';
import { startSmartHost, type TestSmartHost } from './smart-host.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/classify', name + '.eml'));
const chunked = (buf: Buffer, size = 1000) => Readable.from(Array.from({ length: Math.ceil(buf.length / size) }, (_, i) => buf.subarray(i * size, (i + 1) * size)));

let host: TestSmartHost | undefined;
afterEach(async () => {
    await host?.close();
    host = undefined;
});

describe('relay to the smart host', () => {
    it('streams a message byte for byte and reports the smart host 250', async () => {
        host = await startSmartHost();
        const eml = fixture('asterisk-imap-crlf');
        const [outcome] = await relay(parseSmartHost(host.url), { from: 'pbx@example.com', to: ['alice@exchange.example.com'] }, chunked(eml));
        expect(outcome).toMatchObject({ ok: true, text: expect.stringMatching(/^2\.0\.0 Relayed via 127\.0\.0\.1:\d+: 250 /) });
        expect(host.received).toHaveLength(1);
        expect(host.received[0].from).toBe('pbx@example.com');
        expect(host.received[0].to).toEqual(['alice@exchange.example.com']);
        expect(host.received[0].data.equals(eml)).toBe(true);
    });

    it('keeps lines that start with a dot, 8-bit bytes and the null sender', async () => {
        host = await startSmartHost();
        const eml = Buffer.concat([Buffer.from('Subject: dots\r\nX-Name: Zo\xeb\r\n\r\n.\r\n..two\r\n.hidden\r\n', 'latin1'), Buffer.from('Zoë\r\n')]);
        const outcomes = await relay(parseSmartHost(host.url), { from: '', to: ['a@example.com', 'b@example.com'] }, chunked(eml, 3));
        expect(outcomes.map(o => o.ok)).toEqual([true, true]);
        expect(host.received[0]).toMatchObject({ from: '', to: ['a@example.com', 'b@example.com'] });
        expect(host.received[0].data.equals(eml)).toBe(true);
    });

    it('sends LF-only input as SMTP requires: CRLF on the wire, nothing else changed', async () => {
        host = await startSmartHost();
        const eml = fixture('asterisk-greeting-busy');
        await relay(parseSmartHost(host.url), { from: 'pbx@example.com', to: ['x@example.com'] }, chunked(eml));
        expect(host.received[0].data.toString('latin1')).toBe(eml.toString('latin1').replace(/\n/g, '\r\n'));
    });

    it('streams a large message without change', async () => {
        host = await startSmartHost();
        const line = Buffer.from('QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n');
        const eml = Buffer.concat([fixture('asterisk-imap-crlf'), ...Array.from({ length: 110_000 }, () => line)]);
        const started = Date.now();
        const [outcome] = await relay(parseSmartHost(host.url), { from: 'pbx@example.com', to: ['x@example.com'] }, chunked(eml, 64 * 1024));
        expect(outcome.ok).toBe(true);
        expect(host.received[0].data.equals(eml)).toBe(true);
        console.log(`relayed ${(eml.length / 1e6).toFixed(1)} MB in ${Date.now() - started} ms`);
    });

    it('logs in when the smart host URL carries credentials', async () => {
        const seen: string[] = [];
        host = await startSmartHost({
            authOptional: false,
            allowInsecureAuth: true,
            onAuth(auth, _s, cb) {
                seen.push(`${auth.username}:${auth.password}`);
                cb(null, { user: auth.username });
            }
        });
        const [outcome] = await relay(parseSmartHost(`smtp://relay%40pbx:s3cret@127.0.0.1:${host.port}`), { from: 'a@b.c', to: ['d@e.f'] }, chunked(fixture('email-plain')));
        expect(outcome.ok).toBe(true);
        expect(seen).toEqual(['relay@pbx:s3cret']);
    });

    it('passes a permanent refusal on with its code and enhanced status', async () => {
        host = await startSmartHost({ onRcptTo: (_a, _s, cb) => cb(Object.assign(new Error('5.1.1 <x@example.com>: User unknown'), { responseCode: 550 })) });
        const [outcome] = await relay(parseSmartHost(host.url), { from: 'a@b.c', to: ['x@example.com'] }, chunked(fixture('email-plain')));
        expect(outcome.ok).toBe(false);
        const err = (outcome as { error: SmtpError }).error;
        expect([err.responseCode, err.enhanced]).toEqual([550, '5.1.1']);
        expect(err.message).toMatch(/User unknown/);
        expect(host.received).toHaveLength(0);
    });

    it('reports per recipient when the smart host refuses some and takes others', async () => {
        host = await startSmartHost({
            onRcptTo: (a, _s, cb) => (a.address.startsWith('gone') ? cb(Object.assign(new Error('5.1.1 gone'), { responseCode: 550 })) : cb())
        });
        const outcomes = await relay(parseSmartHost(host.url), { from: 'a@b.c', to: ['x@example.com', 'gone@example.com', 'y@example.com'] }, chunked(fixture('email-plain')));
        expect(outcomes.map(o => (o.ok ? 250 : o.error.responseCode))).toEqual([250, 550, 250]);
        expect(host.received[0].to).toEqual(['x@example.com', 'y@example.com']);
    });

    it('passes a temporary failure after DATA on as a 4xx', async () => {
        host = await startSmartHost({
            onData: (stream, _s, cb) => {
                stream.resume();
                stream.on('end', () => cb(Object.assign(new Error('4.2.2 Mailbox full'), { responseCode: 452 })));
            }
        });
        const [outcome] = await relay(parseSmartHost(host.url), { from: 'a@b.c', to: ['x@example.com'] }, chunked(fixture('asterisk-imap-wav49')));
        const err = (outcome as { error: SmtpError }).error;
        expect([outcome.ok, err.responseCode, err.enhanced]).toEqual([false, 452, '4.2.2']);
    });

    it('answers 451 4.4.1 when the smart host cannot be reached', async () => {
        const port = await freePort();
        // A connect timeout far beyond the test's own: only the refusal itself can answer in time.
        const [outcome] = await relay(parseSmartHost(`smtp://127.0.0.1:${port}`, 600_000), { from: 'a@b.c', to: ['x@example.com'] }, chunked(fixture('email-plain')));
        const err = (outcome as { error: SmtpError }).error;
        expect([outcome.ok, err.responseCode, err.enhanced]).toEqual([false, 451, '4.4.1']);
    });

    it('never commits a message whose source fails midway, and drops the connection at once', async () => {
        let closed = 0;
        host = await startSmartHost({ onClose: () => void closed++ });
        const source = new PassThrough();
        source.write(fixture('email-plain'));
        const outcomeP = relay(parseSmartHost(host.url), { from: 'a@b.c', to: ['x@example.com'] }, source);
        await waitFor(() => source.readableFlowing, 5000, 'smart host reading the message');
        source.destroy(new Error('client went away'));
        const [outcome] = await outcomeP;
        const err = (outcome as { error: SmtpError }).error;
        expect([outcome.ok, err.responseCode, err.enhanced]).toEqual([false, 451, '4.3.0']);
        await waitFor(() => closed === 1, 2000, 'the smart host connection closed');
        expect(host.received).toHaveLength(0);
    });

    it('gives up at once when the source fails before the smart host is reached', async () => {
        host = await startSmartHost();
        const source = new PassThrough();
        source.on('error', () => undefined); // as tee() listens for its sinks
        const outcomeP = relay(parseSmartHost(host.url), { from: 'a@b.c', to: ['x@example.com', 'y@example.com'] }, source);
        source.destroy(new Error('size limit'));
        expect((await outcomeP).map(o => (o.ok ? 250 : o.error.responseCode))).toEqual([451, 451]);
        expect(await relay(parseSmartHost(host.url), { from: 'a@b.c', to: ['x@example.com'] }, source)).toMatchObject([{ ok: false }]);
        expect(host.received).toHaveLength(0);
    });

    it('relays what a per-class action sends elsewhere: tap, classify, decide, relay', async () => {
        host = await startSmartHost();
        const eml = fixture('fax-tiff-part');
        const tap = new HeaderTap();
        const piped = chunked(eml, 100).pipe(tap);
        const actions = new MessageActions(parseClassActions({ users: { alice: { fax: { relay: 'alice-fax@exchange.example.com' } } } }, { smartHost: host.url }));
        const header = await tap.header;
        // The header-time class (no parts yet) is what intake decides on; this fax says so only in its parts.
        expect(actions.decide(classify(header), header, 'alice')).toEqual({ action: 'accept' });
        const outcomeP = relay(parseSmartHost(host.url), { from: 'fax@example.com', to: ['alice-fax@exchange.example.com'] }, piped);
        const c = classify(header, await tap.parts);
        expect(c.class).toBe('fax');
        expect(actions.decide(c, header, 'alice')).toEqual({ action: 'relay', to: 'alice-fax@exchange.example.com' });
        expect((await outcomeP).map(o => o.ok)).toEqual([true]);
        expect(host.received[0].data.toString('latin1')).toBe(eml.toString('latin1').replace(/\n/g, '\r\n'));
    });
});

describe('parseSmartHost', () => {
    it('accepts smtp and smtps URLs and refuses anything else', () => {
        expect(parseSmartHost('smtp://mx.example.com')).toEqual({ host: 'mx.example.com', port: 25, secure: false, timeoutMs: 30_000 });
        expect(parseSmartHost('smtps://u:p@[::1]:2465', 5000)).toEqual({ host: '::1', port: 2465, secure: true, auth: { user: 'u', pass: 'p' }, timeoutMs: 5000 });
        for (const bad of ['mx.example.com:25', 'http://mx', 'smtp://mx/path']) expect(() => parseSmartHost(bad)).toThrow(/--smart-host/);
    });
});
