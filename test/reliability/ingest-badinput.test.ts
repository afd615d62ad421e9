// The bad-input corpus (and JSON-specific nasties) against the ingest endpoint's parser: every
// answer is 204, 400, 401 or 413 — never a 5xx, a hang or a crash — memory stays bounded, and a
// valid batch afterwards still becomes an event.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloLine, nowTs, postHeaders, signedLine } from '../helpers/hook-sign.js';
import { waitFor } from '../helpers/net.js';
import { startBridge, Subscriber, type TestBridge } from '../helpers/bridge.js';
import { generateCorpus } from '../fixtures/badinput/generate.js';
import { busUrl } from '../../src/publish/bus-address.js';

const TOKEN = 'ingest-corpus-token-0123456789abcdef';

function jsonNasties(): Buffer[] {
    const ev = { name: 'FlagsSet', mailbox: 'INBOX', uid: 1, uid_validity: 1, flags: ['\\Seen'] };
    const batch = (o: Record<string, unknown>) => Buffer.from(JSON.stringify({ proc: 'p', seq: 1, user: 'u', session: 's', events: [ev], ...o }));
    return [
        Buffer.from('['.repeat(10_000) + ']'.repeat(10_000)),
        Buffer.from('{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000)),
        Buffer.from('{"proc":"p","seq":1e309,"user":"u","events":[]}'),
        Buffer.from('{"proc":"p","seq":-0,"user":"u","events":[]}'),
        Buffer.from('{"proc":"p","seq":NaN,"user":"u","events":[]}'),
        Buffer.from('{"proc":"p","proc":"q","seq":1,"seq":2,"user":"u","events":[]}'),
        Buffer.from('{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"proc":"p","seq":1,"user":"u","events":[]}'),
        batch({ seq: 'one' }),
        batch({ user: 42 }),
        batch({ events: [{ ...ev, uid: -1 }] }),
        batch({ events: [{ ...ev, flags: 'not-a-list' }] }),
        batch({ user: 'x'.repeat(2_000_000) }),
        batch({ events: Array.from({ length: 100_000 }, () => ev) }),
        Buffer.concat([Buffer.from('{"proc":"p\xff\xfe","seq":1,"user":"u\0","events":[]}', 'latin1')]),
        Buffer.from('{"proc":"p","seq":1,"user":"u","events":[{"name":"FlagsSet"'),
        Buffer.alloc(0)
    ];
}

describe('ingest endpoint against bad input', () => {
    let vmb: TestBridge;
    let sub: Subscriber;
    beforeAll(async () => {
        vmb = await startBridge({ ingestToken: TOKEN });
        sub = new Subscriber(busUrl(vmb.config), ['corpus@example.org\t']);
        await sub.ready(vmb.bridge, 'corpus@example.org');
    });
    afterAll(async () => {
        sub?.close();
        await vmb?.stop();
    });

    it('answers every case with 204/400/401/413 and keeps working, memory bounded', async () => {
        const url = `http://${vmb.config.ingest.text}/events`;
        const bodies = [...generateCorpus().map(c => (c.kind === 'message' ? c.bytes : Buffer.concat(c.chunks))), ...jsonNasties()];
        const rss0 = process.memoryUsage().rss;
        const seen = new Map<number, number>();
        for (const [i, body] of bodies.entries()) {
            const headers = i % 10 === 0 ? {} : postHeaders(TOKEN, body); // signed: the parser sees it
            const status = await fetch(url, { method: 'POST', body: new Uint8Array(body), headers, signal: AbortSignal.timeout(5000) }).then(r => r.status);
            seen.set(status, (seen.get(status) ?? 0) + 1);
            expect([204, 400, 401, 413], `case ${i}`).toContain(status);
        }
        expect(bodies.length).toBeGreaterThan(1000);
        expect(seen.get(400)).toBeGreaterThan(900);
        expect(seen.get(401)).toBeGreaterThan(90);
        expect(process.memoryUsage().rss - rss0).toBeLessThan(300 * 1024 * 1024);

        const ok = JSON.stringify({
            proc: 'corpus',
            seq: 1,
            ts: nowTs(),
            user: 'corpus@example.org',
            session: 's1',
            events: [{ name: 'FlagsSet', mailbox: 'INBOX', uid: 5, uid_validity: 9, flags: ['\\Seen'] }]
        });
        const status = await fetch(url, { method: 'POST', body: ok, headers: postHeaders(TOKEN, ok) }).then(r => r.status);
        expect(status).toBe(204);
        await sub.waitFor(e => e.some(x => x.type === 'flag' && x.uid === 5), 'flag event after the corpus');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('the stream transport survives the same corpus as batch lines, then still takes a valid batch', async () => {
        const [host, port] = vmb.config.ingest.text.split(':');
        const sock = net.connect(Number(port), host);
        await new Promise(r => sock.once('connect', r));
        sock.write(helloLine(TOKEN, 'stream-corpus', 'corpus@example.org'));
        // Signed, newline-free: each line reaches the parser (a wrong MAC would just close).
        const line = (b: Buffer) => signedLine(TOKEN, Buffer.concat([Buffer.from('{'), b.subarray(0, 100_000).filter(x => x !== 10)]));
        for (const c of generateCorpus()) sock.write(line(c.kind === 'message' ? c.bytes : Buffer.concat(c.chunks)));
        for (const b of jsonNasties()) sock.write(line(b));
        const ok = {
            proc: 'stream-corpus',
            seq: 1,
            ts: nowTs(),
            user: 'corpus@example.org',
            session: 's2',
            events: [{ name: 'FlagsSet', mailbox: 'INBOX', uid: 6, uid_validity: 9, flags: ['\\Seen'] }]
        };
        // The connection may have been dropped for garbage; a fresh one must work either way.
        sock.destroy();
        const again = net.connect(Number(port), host);
        await new Promise(r => again.once('connect', r));
        again.write(helloLine(TOKEN, 'stream-corpus-2', 'corpus@example.org') + signedLine(TOKEN, { ...ok, proc: 'stream-corpus-2' }));
        await waitFor(() => sub.events.some(x => x.type === 'flag' && x.uid === 6), 10_000, 'flag event over the stream');
        again.destroy();
    });
});
