// StreamSession's seam and overflow with a fake journal and transport (the Dovecot-backed suite
// covers the same through the real front).
import { describe, expect, it } from 'vitest';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { StreamHub } from '../../src/http/hub.js';
import { StreamSession, type Transport } from '../../src/http/session.js';
import { asType } from '../helpers/events.js';

const ev = (seq: number, user = 'alice'): VmEvent => makeEvent({ id: `e${seq}`, type: 'newmail', user, seq });

class Sink implements Transport {
    sent: VmEvent[] = [];
    closed = false;
    constructor(private readonly room = Infinity) {}
    send(e: VmEvent): boolean {
        this.sent.push(e);
        return this.sent.length <= this.room;
    }
    close(): void {
        this.closed = true;
    }
}

describe('StreamSession', () => {
    it('live events arriving during the replay are neither lost nor repeated', async () => {
        const hub = new StreamHub();
        const t = new Sink();
        let release!: () => void;
        const gate = new Promise<void>(r => (release = r));
        const s = new StreamSession({
            user: 'alice',
            since: 2,
            pageSize: 100,
            hub,
            transport: t,
            replay: async () => {
                await gate;
                return [ev(3), ev(4), ev(5)];
            }
        });
        const started = s.start();
        hub.emit(ev(5)); // already in the replay page
        hub.emit(ev(6)); // after it
        hub.emit(ev(1, 'bob')); // another user's
        release();
        await started;
        hub.emit(ev(7));
        expect(t.sent.map(e => e.seq)).toEqual([3, 4, 5, 6, 7]);
        s.close();
        expect(hub.clients).toBe(0);
    });

    it('pages the replay until the journal has no more', async () => {
        const journal = [1, 2, 3, 4, 5].map(n => ev(n));
        const t = new Sink();
        const s = new StreamSession({
            user: 'alice',
            since: 0,
            pageSize: 2,
            hub: new StreamHub(),
            transport: t,
            replay: async (_u, since, limit) => journal.filter(e => e.seq! > since).slice(0, limit)
        });
        await s.start();
        expect(t.sent.map(e => e.seq)).toEqual([1, 2, 3, 4, 5]);
    });

    it('a slow client gets a reset with its cursor and is closed', async () => {
        const hub = new StreamHub();
        const t = new Sink(2);
        const s = new StreamSession({ user: 'alice', pageSize: 10, hub, transport: t, replay: async () => [] });
        await s.start();
        for (let n = 1; n <= 5; n++) hub.emit(ev(n));
        expect(t.sent.map(e => [e.type, e.seq])).toEqual([
            ['newmail', 1],
            ['newmail', 2],
            ['newmail', 3],
            ['reset', 3]
        ]);
        expect(asType(t.sent[3], 'reset').reason).toBe('client-overflow');
        expect(t.closed).toBe(true);
        expect(hub.clients).toBe(0);
    });

    it('a client whose buffer overflows during the replay is reset rather than grown', async () => {
        const hub = new StreamHub();
        const t = new Sink();
        let release!: () => void;
        const gate = new Promise<void>(r => (release = r));
        const s = new StreamSession({ user: 'alice', since: 0, pageSize: 10, bufferMax: 3, hub, transport: t, replay: async () => (await gate, []) });
        const started = s.start();
        for (let n = 1; n <= 4; n++) hub.emit(ev(n));
        release();
        await started;
        expect(t.sent.map(e => e.type)).toEqual(['reset']);
        expect(t.closed).toBe(true);
    });

    it('?types= filters, but the cursor still moves past filtered events', async () => {
        const hub = new StreamHub();
        const t = new Sink();
        const s = new StreamSession({ user: 'alice', pageSize: 10, hub, transport: t, types: new Set(['mwi']), replay: async () => [] });
        await s.start();
        hub.emit(ev(1));
        hub.emit(makeEvent({ id: 'm2', type: 'mwi', user: 'alice', seq: 2, mwi: { mailbox: '1000@default', new: 1, old: 0, urgent: 0 } }));
        expect(t.sent.map(e => e.seq)).toEqual([2]);
    });
});
