// subscribe(): registration in a real memcached + PULL, fed by the Pusher through the memcached
// resolver, and the `vmbridge subscribe` CLI once.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribe } from '../../src/client/subscribe.js';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { Pusher } from '../../src/publish/push.js';
import { MemcachedResolver } from '../../src/resolve/memcached.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { freePort, waitFor } from '../helpers/net.js';
import { parseServers } from '../../src/memcached/servers.js';

const events = (user: string): VmEvent[] => [
    makeEvent({ id: 'a', type: 'newmail', user, mailbox: 'INBOX', class: 'voicemail' }),
    makeEvent({ id: 'b', type: 'flag', user, mailbox: 'INBOX', uid: 1, flags: { set: ['\\Seen'], cleared: [] } }),
    makeEvent({ id: 'c', type: 'move', user, mailbox: 'Old', uid: 2, from: { mailbox: 'INBOX', uid: 1 }, to: { mailbox: 'Old', uid: 2 } }),
    makeEvent({ id: 'd', type: 'delete', user, mailbox: 'Old', uid: 2 }),
    makeEvent({ id: 'e', type: 'mwi', user, mwi: { mailbox: '1000@default', new: 0, old: 0, urgent: 0 } })
];

describe('subscribe()', () => {
    let mc: TestMemcached;
    let resolver: MemcachedResolver;
    let pusher: Pusher;
    beforeAll(async () => {
        mc = await startMemcached();
        resolver = MemcachedResolver.fromConfig(parseServers(mc.resolver));
        pusher = new Pusher({ resolver });
    });
    afterAll(async () => {
        await pusher?.close();
        await resolver?.close();
        await mc?.stop();
    });

    it('registers, receives every event type pushed to it, and unregisters when the loop ends', async () => {
        const bind = `tcp://127.0.0.1:${await freePort()}`;
        const stream = subscribe({ resolver: mc.resolver, user: 'alice', bind, ttlSec: 5 });
        await stream.ready;
        expect(await resolver.endpoints('alice')).toEqual([{ url: bind, kind: 'vmbridge' }]);
        const sent = events('alice');
        sent.forEach(ev => pusher.emit(ev));
        const got: VmEvent[] = [];
        for await (const ev of stream) {
            got.push(ev);
            if (got.length === sent.length) break;
        }
        expect(got).toEqual(sent);
        expect(await resolver.lookup('alice')).toEqual([]);
    });

    it('fails its ready promise and iteration, bounded, when memcached is unreachable', async () => {
        const stream = subscribe({ resolver: `--SERVER=127.0.0.1:${await freePort()}`, user: 'bob', bind: `tcp://127.0.0.1:${await freePort()}` });
        await expect(stream.ready).rejects.toThrow();
        await expect(stream[Symbol.asyncIterator]().next()).rejects.toThrow();
    });

    it('refuses the memory resolver and a wildcard address nobody can connect to', () => {
        expect(() => subscribe({ resolver: 'memory', user: 'x', bind: 'tcp://127.0.0.1:1' })).toThrow(/memcached/);
        expect(() => subscribe({ resolver: mc.resolver, user: 'x', bind: 'tcp://*:5557' })).toThrow(/advertise/);
    });

    it('vmbridge subscribe (CLI) prints pushed events and removes itself on SIGTERM', async () => {
        const bind = `tcp://127.0.0.1:${await freePort()}`;
        const child = spawn(
            process.execPath,
            ['bin/vmbridge.js', 'subscribe', '--resolver', mc.resolver, '--user', 'carol', '--bind', bind, '--type', 'mwi,newmail', '--ttl', '5'],
            {
                stdio: ['ignore', 'pipe', 'pipe']
            }
        );
        let out = '';
        let err = '';
        child.stdout.on('data', d => (out += d));
        child.stderr.on('data', d => (err += d));
        const exited = new Promise<number | null>(res => child.once('exit', code => res(code)));
        try {
            await waitFor(async () => (await resolver.lookup('carol')).length === 1, 10_000, `registration (stderr: ${err})`);
            // Registered for every type (seqs run over all of them); --type is applied by the client.
            expect(await resolver.endpoints('carol')).toEqual([{ url: bind, kind: 'vmbridge' }]);
            events('carol').forEach(ev => pusher.emit(ev));
            await waitFor(() => out.split('\n').length > 2, 5000, 'two lines');
        } finally {
            child.kill('SIGTERM');
        }
        expect(await exited).toBe(0);
        expect(
            out
                .trim()
                .split('\n')
                .map(l => JSON.parse(l).id)
        ).toEqual(['a', 'e']);
        expect(await resolver.lookup('carol')).toEqual([]);
    });
});
