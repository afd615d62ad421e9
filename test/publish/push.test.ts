// Pusher over real nanomsg sockets: byte-exact OpenChange notifications from a record the test
// writes by hand into a real memcached, JSON for vmbridge subscribers, dead endpoints isolated.
import memjs from 'memjs';
import nano, { type Socket } from 'nanomsg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { pushDrops } from '../../src/metrics.js';
import { FolderNames } from '../../src/publish/folders.js';
import { Pusher } from '../../src/publish/push.js';
import type { UidLookup } from '../../src/publish/uid-lookup.js';
import { decodeNotification } from '../../src/wire/ndr.js';
import { MemcachedResolver } from '../../src/resolve/memcached.js';
import { MemoryResolver } from '../../src/resolve/memory.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { freePort, waitFor } from '../helpers/net.js';
import { captureLogger } from '../mwi/log-capture.js';
import { parseServers } from '../../src/memcached/servers.js';

// facts-openchange.md's 22-byte example: 01 02 00 'sogo' 00 '42.eml' 00 'INBOX' 00 2e
const EXAMPLE = Buffer.from('0102' + '00' + '736f676f00' + '34322e656d6c00' + '494e424f5800' + '2e', 'hex');

function ocRecord(urls: string[]): Buffer {
    const bytes = [0x01, urls.length, 0, 0, 0, urls.length, 0, 0, 0];
    for (const u of urls) bytes.push(...Buffer.from(u, 'ascii'), 0);
    return Buffer.from(bytes);
}

const sockets: Socket[] = [];
async function pull(): Promise<{ url: string; frames: Buffer[] }> {
    const url = `tcp://127.0.0.1:${await freePort()}`;
    const sock = nano.socket('pull');
    sockets.push(sock);
    expect(sock.bind(url)).not.toBeNull();
    const frames: Buffer[] = [];
    sock.on('data', (f: Buffer) => frames.push(f));
    return { url, frames };
}

async function drops(reason: string): Promise<number> {
    return (await pushDrops.get()).values.find(v => v.labels.reason === reason)?.value ?? 0;
}

const newmail = (uid?: number, user = 'alice@example.com'): VmEvent =>
    makeEvent({ id: `nm-${uid}-${Math.random()}`, type: 'newmail', user, mailbox: 'INBOX', uid, class: 'voicemail' });

afterEach(() => {
    while (sockets.length) sockets.pop()!.close();
});

describe('Pusher with OpenChange records in memcached', () => {
    let mc: TestMemcached;
    let raw: memjs.Client;
    beforeAll(async () => {
        mc = await startMemcached();
        raw = memjs.Client.create(mc.server, { logger: { log: () => undefined } });
    });
    afterAll(async () => {
        raw?.close();
        await mc?.stop();
    });

    it('sends the exact documented newmail payload, and nothing for a newmail without uid', async () => {
        const oc = await pull();
        await raw.set('resolver:alice', ocRecord([oc.url]), {});
        const resolver = MemcachedResolver.fromConfig(parseServers(mc.resolver), { cn: 'username' });
        const pusher = new Pusher({ resolver });
        try {
            const noUid = await drops('no_uid');
            pusher.emit(newmail(undefined));
            pusher.emit(newmail(42));
            await waitFor(() => oc.frames.length >= 1, 3000, 'the OpenChange payload');
            await pusher.flush();
            expect(oc.frames).toHaveLength(1);
            expect(oc.frames[0].equals(EXAMPLE)).toBe(true);
            expect((await drops('no_uid')) - noUid).toBe(1);
        } finally {
            await pusher.close();
            await resolver.close();
        }
    });

    it('with an email cn finds the record under the full address; folder and separator as Dovecot reported them; NewMail only', async () => {
        const oc = await pull();
        await raw.set('resolver:bob@example.com', ocRecord([oc.url]), {});
        const resolver = MemcachedResolver.fromConfig(parseServers(mc.resolver), { cn: 'email' });
        const folders = new FolderNames();
        const user = 'Bob@Example.com';
        // what the hook reports for a Maildir++ sub-folder under `separator = /` and a non-ASCII one
        folders.learn({
            proc: 'p',
            seq: 1,
            user,
            session: 's',
            events: [
                { name: 'MessageAppend', mailbox: 'Work/Calls', uid: 9, uid_validity: 1, storage_name: 'Work.Calls', storage_sep: '.' },
                { name: 'MessageNew', mailbox: 'Anrufe/Ärger', uid: 10, uid_validity: 1, storage_name: 'Anrufe.&AMQ-rger', storage_sep: '.' }
            ]
        });
        const pusher = new Pusher({ resolver, backend: 'ocsmanager', folders });
        try {
            pusher.emit(makeEvent({ id: 'f1', type: 'flag', user, mailbox: 'INBOX', uid: 7, flags: { set: ['\\Seen'], cleared: [] } }));
            pusher.emit(makeEvent({ id: 'm1', type: 'move', user, mailbox: 'Old', uid: 3, from: { mailbox: 'INBOX', uid: 7 }, to: { mailbox: 'Old', uid: 3 } }));
            pusher.emit(makeEvent({ id: 'd1', type: 'delete', user, mailbox: 'Old', uid: 3 }));
            pusher.emit(makeEvent({ id: 'n1', type: 'newmail', user, mailbox: 'Work/Calls', uid: 9 }));
            pusher.emit(makeEvent({ id: 'n2', type: 'newmail', user, mailbox: 'Anrufe/Ärger', uid: 10 }));
            pusher.emit(makeEvent({ id: 'n3', type: 'newmail', user, mailbox: 'Notizen/Ü', uid: 11 })); // never reported
            await waitFor(() => oc.frames.length >= 3, 3000, 'newmail');
            await pusher.flush();
            expect(oc.frames.map(f => f.toString('latin1'))).toEqual([
                '\x01\x02\x00ocsmanager\x009.eml\x00Work.Calls\x00.',
                '\x01\x02\x00ocsmanager\x0010.eml\x00Anrufe.&AMQ-rger\x00.',
                '\x01\x02\x00ocsmanager\x0011.eml\x00Notizen/&ANw-\x00.'
            ]);
        } finally {
            await pusher.close();
            await resolver.close();
        }
    });

    it('finds a missing uid by Message-ID and tells OpenChange once per stored copy', async () => {
        const oc = await pull();
        await raw.set('resolver:dora', ocRecord([oc.url]), {});
        const resolver = MemcachedResolver.fromConfig(parseServers(mc.resolver));
        const asked: string[] = [];
        const uids = { find: async (_u: string, mailbox: string, id: string) => (asked.push(`${mailbox} ${id}`), { uid: 5, uidValidity: 9 }) } as unknown as UidLookup;
        const pusher = new Pusher({ resolver, uids });
        const nm = (id: string, uid?: number) => makeEvent({ id, type: 'newmail', user: 'dora', mailbox: 'INBOX', messageId: '<m5@x>', ...(uid ? { uid, uidValidity: 9 } : {}) });
        try {
            pusher.emit(nm('a')); // left the correlator without uid
            pusher.emit(nm('b', 5)); // the late MessageNew of the same copy
            pusher.emit(nm('c', 6));
            await waitFor(() => oc.frames.length >= 2, 3000, 'two payloads');
            await pusher.flush();
            expect(asked).toEqual(['INBOX <m5@x>']);
            expect(oc.frames.map(f => decodeNotification(f))).toMatchObject([{ value: { eml: '5.eml' } }, { value: { eml: '6.eml' } }]);
        } finally {
            await pusher.close();
            await resolver.close();
        }
    });

    // No clock here: the live endpoint must get every frame while the dead one's send is still
    // pending (a 60 s timeout that never fires during the test), and again while the dead one backs
    // off (reached through its warning, a barrier). Head-of-line blocking would hold the live frames
    // for the whole minute and fail the waits.
    it('keeps delivering to a live endpoint while another one is dead: pending, then backing off', async () => {
        const dead = `tcp://127.0.0.1:${await freePort()}`; // nothing listens there
        for (const phase of ['pending', 'backing off'] as const) {
            const live = await pull();
            await raw.set('resolver:carol', ocRecord([dead, live.url]), {});
            const resolver = MemcachedResolver.fromConfig(parseServers(mc.resolver));
            const { logger, records } = captureLogger();
            const pending = phase === 'pending';
            const pusher = new Pusher({ resolver, logger, sendTimeoutMs: pending ? 60_000 : 50, backoffMinMs: 60_000 });
            const backingOff = () => records.some(r => r.msg.startsWith('push endpoint not accepting frames'));
            try {
                const [timeouts, backoffs] = [await drops('timeout'), await drops('backoff')];
                pusher.emit(newmail(1, 'carol'));
                await waitFor(() => live.frames.length >= 1, 10_000, `${phase}: frame 1`);
                if (!pending) await waitFor(backingOff, 10_000, 'the dead endpoint backing off');
                for (let uid = 2; uid <= 5; uid++) pusher.emit(newmail(uid, 'carol'));
                await waitFor(() => live.frames.length >= 5, 10_000, `${phase}: frames 2-5`);
                expect(live.frames.map(f => decodeNotification(f))).toMatchObject([1, 2, 3, 4, 5].map(uid => ({ value: { eml: `${uid}.eml` } })));
                expect(backingOff()).toBe(!pending);
                // The dead endpoint's frames wait (bounded, newest kept) for its retry: none dropped yet.
                expect((await drops('timeout')) - timeouts).toBe(0);
                expect((await drops('backoff')) - backoffs).toBe(0);
            } finally {
                await pusher.close();
                await resolver.close();
            }
        }
    });
});

describe('Pusher to vmbridge subscribers', () => {
    it("sends the JSON of every event type, honouring a subscriber's types", async () => {
        const all = await pull();
        const some = await pull();
        const resolver = new MemoryResolver();
        resolver.register('dave', { url: all.url, kind: 'vmbridge' });
        resolver.register('dave', { url: some.url, kind: 'vmbridge', types: ['mwi'] });
        const pusher = new Pusher({ resolver });
        const evs = [
            makeEvent({ id: 'a', type: 'newmail', user: 'dave', mailbox: 'INBOX' }),
            makeEvent({ id: 'b', type: 'flag', user: 'dave', mailbox: 'INBOX', uid: 1, flags: { set: ['\\Seen'], cleared: [] } }),
            makeEvent({ id: 'c', type: 'move', user: 'dave', mailbox: 'Old', uid: 2, from: { mailbox: 'INBOX', uid: 1 }, to: { mailbox: 'Old', uid: 2 } }),
            makeEvent({ id: 'd', type: 'delete', user: 'dave', mailbox: 'Old', uid: 2 }),
            makeEvent({ id: 'e', type: 'mwi', user: 'dave', mwi: { mailbox: '1000@default', new: 0, old: 0, urgent: 0 } })
        ];
        try {
            evs.forEach(ev => pusher.emit(ev));
            await waitFor(() => all.frames.length >= 5 && some.frames.length >= 1, 3000, 'JSON frames');
            expect(all.frames.map(f => JSON.parse(f.toString()))).toEqual(evs);
            expect(some.frames.map(f => JSON.parse(f.toString()).id)).toEqual(['e']);
        } finally {
            await pusher.close();
        }
    });

    it('pushes with the lookup prepare() started (one lookup per batch); without prepare() it looks up itself', async () => {
        const sub = await pull();
        const resolver = new MemoryResolver();
        resolver.register('hal', { url: sub.url, kind: 'vmbridge' });
        let lookups = 0;
        const endpoints = resolver.endpoints.bind(resolver);
        resolver.endpoints = async user => (lookups++, endpoints(user));
        const pusher = new Pusher({ resolver });
        try {
            pusher.prepare('hal');
            expect(lookups).toBe(1); // started at once, before any event
            pusher.emit(newmail(1, 'hal'));
            pusher.emit(newmail(2, 'hal'));
            await pusher.flush();
            expect(lookups).toBe(1);
            pusher.emit(newmail(3, 'hal')); // no prepare: its own lookup
            await pusher.flush();
            expect(lookups).toBe(2);
            // While a drain for the user runs, prepare() starts nothing: the drain looks up again.
            pusher.emit(newmail(4, 'hal'));
            await Promise.resolve(); // the drain has started its lookup
            pusher.prepare('hal');
            expect(lookups).toBe(3);
            pusher.emit(newmail(5, 'hal'));
            await pusher.flush();
            expect(lookups).toBe(4);
            await waitFor(() => sub.frames.length >= 5, 5000, 'five frames');
            expect(sub.frames.map(f => JSON.parse(f.toString()).uid)).toEqual([1, 2, 3, 4, 5]);
        } finally {
            await pusher.close();
        }
    });

    it('bounds the queue of an endpoint nobody listens on, keeping the newest frames', async () => {
        const resolver = new MemoryResolver();
        const url = `tcp://127.0.0.1:${await freePort()}`;
        resolver.register('erin', { url, kind: 'vmbridge' });
        const pusher = new Pusher({ resolver, queueLimit: 10, sendTimeoutMs: 5000 });
        try {
            const full = await drops('queue_full');
            for (let i = 0; i < 50; i++) pusher.emit(newmail(i, 'erin'));
            await pusher.flush();
            expect((await drops('queue_full')) - full).toBe(40);
            // The oldest went: once someone listens, the newest ten arrive (their seqs reveal the gap).
            const sock = nano.socket('pull');
            sockets.push(sock);
            const frames: Buffer[] = [];
            sock.on('data', (f: Buffer) => frames.push(f));
            expect(sock.bind(url)).not.toBeNull();
            await waitFor(() => frames.length >= 10, 10_000, 'queued frames');
            expect(frames.map(f => JSON.parse(f.toString()).uid)).toEqual(Array.from({ length: 10 }, (_, i) => 40 + i));
        } finally {
            await pusher.close();
        }
    });

    it('closes an endpoint idle for idleMs, counted from its latest frame', async () => {
        const sub = await pull();
        const resolver = new MemoryResolver();
        resolver.register('gil', { url: sub.url, kind: 'vmbridge' });
        vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
        const pusher = new Pusher({ resolver, idleMs: 50 });
        try {
            pusher.emit(newmail(1, 'gil'));
            await pusher.flush();
            expect(pusher.endpointCount).toBe(1);
            await vi.advanceTimersByTimeAsync(40);
            pusher.emit(newmail(2, 'gil')); // restarts the idle time
            await pusher.flush();
            await vi.advanceTimersByTimeAsync(40);
            expect(pusher.endpointCount).toBe(1);
            await vi.advanceTimersByTimeAsync(20);
            expect(pusher.endpointCount).toBe(0);
        } finally {
            vi.useRealTimers();
            await pusher.close();
        }
    });
});
