// The ingest listener's stream transport on its own: token check, batches per line, a line cut
// short at EOF reported as lost (→ resync), HTTP still answered on the same port.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../src/events/dovecot/batch.js';
import { IngestServer } from '../../src/events/ingest.js';
import { createLogger } from '../../src/log.js';
import { waitFor } from '../helpers/net.js';

const TOKEN = 'stream-test-token-0123456789abcdef';
const hello = (token = TOKEN) => JSON.stringify({ vmbridge: 1, token, proc: 'p1', user: 'alice' }) + '\n';
const batch = (seq: number) => JSON.stringify({ proc: 'p1', seq, user: 'alice', session: 's', events: [{ name: 'FlagsSet', mailbox: 'INBOX', uid: seq, uid_validity: 7, flags: ['\\Seen'] }] });

describe('ingest stream transport', () => {
    const batches: Batch[] = [];
    const lost: string[] = [];
    let server: IngestServer;
    let addr = '';

    beforeAll(async () => {
        server = new IngestServer({ listen: '127.0.0.1:0', token: TOKEN, maxBody: 1024 * 1024, logger: createLogger('silent'), onBatch: b => batches.push(b), onLost: u => lost.push(u) });
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
        const all = hello() + batch(1) + '\n' + batch(2) + '\n';
        s.write(all.slice(0, 30));
        s.write(all.slice(30, 150));
        s.end(all.slice(150));
        await closed;
        await waitFor(() => batches.length === 2, 2000, 'two batches');
        expect(batches.map(b => b.seq)).toEqual([1, 2]);
        expect(answered).toBe(0);
        expect(lost).toEqual([]);
    });

    it('drops a connection whose hello has the wrong token', async () => {
        const { s, closed } = connect();
        s.write(hello('wrong-token-0123456789abcdef-xxxxxx') + batch(3) + '\n');
        await closed;
        expect(batches.map(b => b.seq)).not.toContain(3);
    });

    it('reports a line cut short at EOF as a lost batch of that user', async () => {
        const { s, closed } = connect();
        s.end(hello() + batch(4).slice(0, 40));
        await closed;
        await waitFor(() => lost.length === 1, 2000, 'lost report');
        expect(lost).toEqual(['alice']);
    });

    it('answers HTTP on the same port', async () => {
        const r = await fetch(`http://${addr}/events`, { method: 'POST', body: batch(9), headers: { 'x-vmbridge-token': TOKEN } });
        expect(r.status).toBe(204);
        await waitFor(() => batches.some(b => b.seq === 9), 2000, 'http batch');
    });
});
