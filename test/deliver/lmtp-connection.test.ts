// LmtpConnection's write coalescing (unit, a loopback server that speaks just enough LMTP): small
// writes of one loop turn leave as one send; a large chunk is not held back until the turn ends.
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LmtpConnection } from '../../src/deliver/lmtp-connection.js';
import { LMTP_CORK_MAX } from '../../src/limits.js';
import { waitFor } from '../helpers/net.js';

let server: net.Server;
let port = 0;
const reads: Buffer[] = [];
beforeAll(async () => {
    server = net.createServer(s => {
        s.write('220 fake\r\n');
        let greeted = false;
        s.on('data', d => {
            if (!greeted && d.toString().startsWith('LHLO')) {
                greeted = true;
                s.write('250-fake\r\n250 PIPELINING\r\n');
            } else reads.push(d);
        });
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>(r => server.close(() => r())));

const received = () => Buffer.concat(reads).length;

it('sends small writes of one loop turn together, and a large chunk at once', async () => {
    const conn = await LmtpConnection.open({ host: '127.0.0.1', port }, 5000);
    try {
        const sock = (conn as unknown as { sock: net.Socket }).sock;
        void conn.write('small one\r\n');
        void conn.write('small two\r\n');
        expect(sock.writableCorked).toBe(1); // held until the loop turn ends
        const large = conn.write(Buffer.alloc(LMTP_CORK_MAX, 0x61));
        expect(sock.writableCorked).toBe(0); // handed to the socket now, with what was held
        await large;
        await waitFor(() => received() >= 22 + LMTP_CORK_MAX, 5000, 'everything at the server');
        expect(Buffer.concat(reads).subarray(0, 22).toString()).toBe('small one\r\nsmall two\r\n');
    } finally {
        conn.destroy();
    }
});

it('flush() sends what is held at once (the end of a message: its reply waits on it)', async () => {
    const conn = await LmtpConnection.open({ host: '127.0.0.1', port }, 5000);
    try {
        const sock = (conn as unknown as { sock: net.Socket }).sock;
        const before = received();
        void conn.write('BDAT 5 LAST\r\n');
        void conn.write('body\n');
        expect(sock.writableCorked).toBe(1);
        conn.flush();
        expect(sock.writableCorked).toBe(0);
        await waitFor(() => received() >= before + 18, 5000, 'the end of the message at the server');
    } finally {
        conn.destroy();
    }
});
