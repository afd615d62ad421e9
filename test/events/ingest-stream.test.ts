// The ingest listener's stream transport on its own: the signed hello and lines (the token never
// travels), batches per line, stale and replayed lines refused, a line cut short at EOF reported
// as lost (→ resync; on the native driver's shared connection for each of its users), HTTP still
// answered on the same port.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../src/hook/batch.js';
import { IngestServer } from '../../src/hook/ingest.js';
import { createLogger } from '../../src/log.js';
import { helloLine, nowTs, postHeaders, signedLine } from '../helpers/hook-sign.js';
import { waitFor } from '../helpers/net.js';

const TOKEN = 'stream-test-token-0123456789abcdef';
const hello = (token = TOKEN, proc = 'p1') => helloLine(token, proc, 'alice');
const body = (seq: number, proc = 'p1', ts = nowTs()) => ({
    proc,
    seq,
    ts,
    user: 'alice',
    session: 's',
    events: [{ name: 'FlagsSet', mailbox: 'INBOX', uid: seq, uid_validity: 7, flags: ['\\Seen'] }]
});
const batch = (seq: number, proc = 'p1', ts?: number) => signedLine(TOKEN, body(seq, proc, ts)) as string;

describe('ingest stream transport', () => {
    const batches: Batch[] = [];
    const lost: string[] = [];
    let hellos = 0;
    let server: IngestServer;
    let addr = '';

    beforeAll(async () => {
        server = new IngestServer({
            listen: { host: '127.0.0.1', port: 0 },
            token: TOKEN,
            maxBody: 1024 * 1024,
            logger: createLogger('silent'),
            onBatch: b => batches.push(b),
            onLost: u => lost.push(u),
            onHello: () => hellos++
        });
        addr = await server.listen();
    });
    afterAll(() => server.close());

    const connect = () => {
        const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
        const s = net.connect(port, host);
        const closed = new Promise<void>(r => s.on('close', () => r()));
        s.on('error', () => undefined);
        return { s, closed };
    };

    it('takes one batch per line after the hello, split anywhere, and never writes back', async () => {
        const { s, closed } = connect();
        let answered = 0;
        s.on('data', d => (answered += d.length));
        const all = hello() + batch(1) + batch(2);
        expect(all).not.toContain(TOKEN);
        s.write(all.slice(0, 30));
        s.write(all.slice(30, 150));
        s.end(all.slice(150));
        await closed;
        await waitFor(() => batches.length === 2, 2000, 'two batches');
        expect(batches.map(b => b.seq)).toEqual([1, 2]);
        expect(answered).toBe(0);
        expect(lost).toEqual([]);
        expect(hellos).toBe(1);
    });

    it('drops a connection whose hello is signed with another key, or is the old token hello', async () => {
        for (const first of [hello('wrong-token-0123456789abcdef-xxxxxx', 'p3'), JSON.stringify({ vmbridge: 1, token: TOKEN, proc: 'p3', user: 'alice' }) + '\n']) {
            const { s, closed } = connect();
            s.write(first + batch(3, 'p3'));
            await closed;
        }
        expect(batches.map(b => b.proc)).not.toContain('p3');
    });

    it('refuses a replayed line and a stale one, and closes on an unsigned one', async () => {
        const line = batch(1, 'p4');
        const { s, closed } = connect();
        s.write(hello(TOKEN, 'p4') + line + line + batch(2, 'p4', nowTs() - 3600) + batch(3, 'p4'));
        await waitFor(() => batches.some(b => b.proc === 'p4' && b.seq === 3), 2000, 'the fresh one');
        expect(batches.filter(b => b.proc === 'p4').map(b => b.seq)).toEqual([1, 3]);
        s.write(JSON.stringify(body(4, 'p4')) + '\n');
        await closed;
        expect(batches.filter(b => b.proc === 'p4').map(b => b.seq)).toEqual([1, 3]);
        expect(lost).toEqual(['alice']); // what came after may have been a batch: recount
        lost.length = 0;
    });

    it('reports a line cut short at EOF as a lost batch of that user', async () => {
        const { s, closed } = connect();
        s.end(hello(TOKEN, 'p5') + batch(4, 'p5').slice(0, 40));
        await closed;
        await waitFor(() => lost.length === 1, 2000, 'lost report');
        expect(lost).toEqual(['alice']);
    });

    it("takes the native driver's shared connection: a hello without user, batches of several users", async () => {
        lost.length = 0;
        const { s, closed } = connect();
        const users = ['alice', 'bob'];
        const lines = users.map((user, i) => signedLine(TOKEN, { ...body(1, `n.${i + 1}`), user }) as string);
        s.end(signedLine(TOKEN, { vmbridge: 2, proc: 'n', ts: nowTs() }) + lines.join(''));
        await closed;
        await waitFor(() => batches.filter(b => b.proc.startsWith('n.')).length === 2, 2000, 'both users');
        expect(batches.filter(b => b.proc.startsWith('n.')).map(b => b.user)).toEqual(users);
        expect(lost).toEqual([]); // ended on a line's end: nothing unsent
    });

    // The Dovecot process ended with batches it could not send (its last flush timed out): no later
    // batch of its procs will show a gap, so every user heard on it is recounted, and the user the
    // cut line names when that much of it arrived.
    it("a shared connection cut mid-line: each of its users is reported lost, and the cut line's", async () => {
        lost.length = 0;
        const cut = (user: string) => {
            const line = signedLine(TOKEN, { ...body(2, 'm.3'), user }) as string;
            return line.slice(0, line.indexOf('"session"'));
        };
        for (const [tail, expected] of [
            [cut('carol'), ['alice', 'bob', 'carol']],
            [batch(2, 'm.9').slice(0, 40), ['alice', 'bob']]
        ] as const) {
            const { s, closed } = connect();
            const lines = ['alice', 'bob', 'alice'].map((user, i) => signedLine(TOKEN, { ...body(1, `m.${i + 1}`), user }) as string);
            s.end(signedLine(TOKEN, { vmbridge: 2, proc: 'm', ts: nowTs() }) + lines.join('') + tail);
            await closed;
            await waitFor(() => lost.length === expected.length, 2000, 'lost reports');
            expect([...lost].sort()).toEqual(expected);
            lost.length = 0;
        }
    });

    it('answers HTTP on the same port: a MAC over the body, never the token', async () => {
        const url = `http://${addr}/events`;
        const json = JSON.stringify(body(9, 'h1'));
        expect((await fetch(url, { method: 'POST', body: json, headers: postHeaders(TOKEN, json) })).status).toBe(204);
        await waitFor(() => batches.some(b => b.seq === 9), 2000, 'http batch');
        expect((await fetch(url, { method: 'POST', body: json, headers: postHeaders(TOKEN, json) })).status).toBe(401); // replay
        expect((await fetch(url, { method: 'POST', body: json, headers: { 'x-vmbridge-token': TOKEN } })).status).toBe(401);
        const other = JSON.stringify(body(10, 'h1'));
        expect((await fetch(url, { method: 'POST', body: other, headers: postHeaders('another-token-0123456789abcdef', other) })).status).toBe(401);
    });
});
