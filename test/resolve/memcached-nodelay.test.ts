// memjs leaves Nagle on: createMemcachedClient turns it off on every socket it opens, so a request
// sent while another is unanswered on the same connection (two users' journal writes) leaves at
// once instead of after that answer's ACK. Against a real memcached; a reconnect gets it too.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemcachedClient } from '../../src/memcached/client.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';

describe('memcached client sockets', () => {
    let mc: TestMemcached;
    beforeAll(async () => {
        mc = await startMemcached();
    });
    afterAll(async () => {
        await mc?.stop();
    });

    it('set TCP_NODELAY on every connection, reconnections included', async () => {
        const spy = vi.spyOn(net.Socket.prototype, 'setNoDelay');
        const client = createMemcachedClient(mc.resolver);
        try {
            await client.set('k', 'v', {});
            await Promise.all([client.get('k'), client.get('k')]); // in flight together on one socket
            const sockets = () => new Set(spy.mock.contexts.filter((_, i) => spy.mock.calls[i][0] === true));
            expect(sockets().size).toBe(1);
            const server = (client as unknown as { servers: { _socket?: net.Socket }[] }).servers[0];
            const closed = new Promise(r => server._socket!.once('close', r));
            server._socket!.destroy(); // memjs opens a new socket on the next request
            await closed;
            expect((await client.get('k')).value?.toString()).toBe('v');
            expect(sockets().size).toBe(2);
        } finally {
            spy.mockRestore();
            client.close();
        }
    });
});
