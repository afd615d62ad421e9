// The memcached resolver against real memcached servers, with OpenChange records written by the
// test from the documented byte layout (not by the codec under test).
import net from 'node:net';
import memjs from 'memjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolverErrors } from '../../src/metrics.js';
import { MemcachedResolver } from '../../src/resolve/memcached.js';
import { createMemcachedClient } from '../../src/memcached/client.js';
import { Registration } from '../../src/resolve/subscriptions.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { waitFor } from '../helpers/net.js';
import { parseServers } from '../../src/memcached/servers.js';
import { stoppedAll } from '../helpers/process.js';

function ocRecord(urls: string[]): Buffer {
    const bytes = [0x01, urls.length, 0, 0, 0, urls.length, 0, 0, 0];
    for (const u of urls) bytes.push(...Buffer.from(u, 'ascii'), 0);
    return Buffer.from(bytes);
}

function direct(m: TestMemcached): memjs.Client {
    return memjs.Client.create(m.server, { logger: { log: () => undefined } });
}

async function errorCount(): Promise<number> {
    return (await resolverErrors.get()).values[0]?.value ?? 0;
}

describe('memcached resolver', () => {
    let mc: TestMemcached;
    let raw: memjs.Client;
    beforeAll(async () => {
        mc = await startMemcached();
        raw = direct(mc);
    });
    afterAll(async () => {
        raw?.close();
        await mc?.stop();
    });

    it('finds OpenChange endpoints by username cn and by email cn', async () => {
        await raw.set('resolver:alice', ocRecord(['tcp://192.0.2.10:5555']), {});
        await raw.set('resolver:alice@example.com', ocRecord(['tcp://192.0.2.11:5555', 'tcp://192.0.2.12:5555']), {});
        const byName = MemcachedResolver.fromConfig(parseServers(mc.resolver), { cn: 'username' });
        const byMail = MemcachedResolver.fromConfig(parseServers(mc.resolver), { cn: 'email' });
        try {
            expect(await byName.endpoints('Alice@Example.com')).toEqual([{ url: 'tcp://192.0.2.10:5555', kind: 'openchange' }]);
            expect(await byMail.lookup('Alice@Example.com')).toEqual(['tcp://192.0.2.11:5555', 'tcp://192.0.2.12:5555']);
            expect(await byName.lookup('nobody')).toEqual([]);
        } finally {
            await byName.close();
            await byMail.close();
        }
    });

    it('ignores an undecodable record', async () => {
        await raw.set('resolver:junk', Buffer.from([0x01, 0xff, 0xff, 0, 0, 0x07]), {});
        const r = MemcachedResolver.fromConfig(parseServers(mc.resolver));
        try {
            expect(await r.lookup('junk')).toEqual([]);
        } finally {
            await r.close();
        }
    });

    it('registers, refreshes, removes and expires vmbridge subscriptions', async () => {
        const r = MemcachedResolver.fromConfig(parseServers(mc.resolver));
        const client = createMemcachedClient(parseServers(mc.resolver));
        try {
            const a = new Registration(client, { user: 'carol', url: 'tcp://127.0.0.1:7001', types: ['newmail'], ttlSec: 1 });
            // 2 s, not 1: memcached's clock ticks per second, so a 1 s TTL can end right after a
            // refresh, and the entry is missing until the next one (a third of a second).
            const b = new Registration(client, { user: 'carol', url: 'tcp://127.0.0.1:7002', ttlSec: 2 });
            await Promise.all([a.start(), b.start()]);
            expect(a.slotKey).not.toBe(b.slotKey);
            expect(await r.endpoints('carol')).toEqual(
                expect.arrayContaining([
                    { url: 'tcp://127.0.0.1:7001', kind: 'vmbridge', types: ['newmail'] },
                    { url: 'tcp://127.0.0.1:7002', kind: 'vmbridge' }
                ])
            );
            // b keeps refreshing past its TTL; a leaves cleanly.
            await a.stop();
            expect(await r.lookup('carol')).toEqual(['tcp://127.0.0.1:7002']);
            // A barrier on memcached's own clock, not a sleep: a key set now for 3 s is gone only once
            // more than b's 2 s TTL has passed there, so b is alive after it only through its refreshes.
            await raw.set('ttl-barrier', 'x', { expires: 3 });
            await waitFor(async () => (await raw.get('ttl-barrier')).value === null, 10_000, "b's TTL passing on memcached's clock");
            expect(await r.lookup('carol')).toEqual(['tcp://127.0.0.1:7002']);
            // A crash (no delete) leaves the entry to its TTL: it disappears by itself.
            await b.stop(false);
            await waitFor(async () => (await r.lookup('carol')).length === 0, 10_000, 'expiry of a crashed subscriber');
        } finally {
            client.close();
            await r.close();
        }
    });

    it('returns [] within a bounded time when memcached is stopped, and counts the error', async () => {
        const own = await startMemcached();
        const r = MemcachedResolver.fromConfig(parseServers(own.resolver), { timeoutMs: 250 });
        try {
            expect(await r.lookup('dave')).toEqual([]);
            await own.stop();
            const before = await errorCount();
            for (let i = 0; i < 5; i++) {
                expect(await r.lookup('dave')).toEqual([]);
            }
            expect((await errorCount()) - before).toBe(5);
        } finally {
            await r.close();
            await own.stop();
        }
    });

    it('while memcached does not answer, a user gets the last answer (a burst is not dropped for a live subscriber)', async () => {
        const own = await startMemcached();
        const ownRaw = direct(own);
        const r = MemcachedResolver.fromConfig(parseServers(own.resolver), { timeoutMs: 250 });
        try {
            await ownRaw.set('resolver:frank', ocRecord(['tcp://192.0.2.12:5555']), {});
            expect(await r.lookup('frank')).toEqual(['tcp://192.0.2.12:5555']);
            process.kill(own.pid!, 'SIGSTOP'); // reachable, silent: the lookup times out
            try {
                await stoppedAll([own.pid!]);
                const before = await errorCount();
                expect(await r.lookup('frank')).toEqual(['tcp://192.0.2.12:5555']);
                expect(await r.lookup('grace')).toEqual([]); // never answered: nothing to reuse
                expect((await errorCount()) - before).toBe(2);
            } finally {
                process.kill(own.pid!, 'SIGCONT');
            }
        } finally {
            ownRaw.close();
            await r.close();
            await own.stop();
        }
    });

    it('returns [] within a bounded time when memcached accepts but never answers', async () => {
        const conns: net.Socket[] = [];
        const silent = net.createServer(c => conns.push(c)); // accepts, never answers
        await new Promise<void>(res => silent.listen(0, '127.0.0.1', res));
        const { port } = silent.address() as net.AddressInfo;
        const r = MemcachedResolver.fromConfig(parseServers(`--SERVER=127.0.0.1:${port}`), { timeoutMs: 250 });
        try {
            expect(await r.lookup('erin')).toEqual([]);
        } finally {
            await r.close();
            conns.forEach(c => c.destroy());
            await new Promise(res => silent.close(res));
        }
    });
});

describe('several --SERVER options', () => {
    const servers: TestMemcached[] = [];
    beforeAll(async () => {
        for (let i = 0; i < 3; i++) servers.push(await startMemcached());
    });
    afterAll(async () => {
        for (const s of servers) await s.stop();
    });

    // hash % 3 from a C build of libhashkit's one_at_a_time (see servers.test.ts).
    const placement: Array<[string, number]> = [
        ['alice', 1],
        ['bob', 2],
        ['eve', 0],
        ['mallory', 0]
    ];

    it('reads each key from the server libmemcached would have written it to', async () => {
        const clients = servers.map(direct);
        const r = MemcachedResolver.fromConfig(parseServers(servers.map(s => s.resolver).join(' ')));
        try {
            for (const [user, idx] of placement) {
                await clients[idx].set(`resolver:${user}`, ocRecord([`tcp://192.0.2.${idx}:5555`]), {});
            }
            for (const [user, idx] of placement) expect(await r.lookup(user)).toEqual([`tcp://192.0.2.${idx}:5555`]);
        } finally {
            clients.forEach(c => c.close());
            await r.close();
        }
    });
});
