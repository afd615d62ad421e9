// memcached down: events keep flowing, promptly and without seq (never a made-up number), and
// once it is back the user's first sequenced event is a journaled reset, so a subscriber
// replaying across the outage is told to resync instead of missing those events silently.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, Subscriber, type TestBridge } from '../helpers/bridge.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { waitFor } from '../helpers/net.js';
import { stoppedAll } from '../helpers/process.js';
import type { VmEvent } from '../../src/events/event.js';
import { flag } from './util.js';
import { busUrl } from '../../src/publish/bus-address.js';

describe('catch-up while memcached is down', () => {
    let mc: TestMemcached;
    let br: TestBridge;
    let sub: Subscriber;
    beforeAll(async () => {
        mc = await startMemcached();
        br = await startBridge({ resolver: mc.resolver, coalesceWindow: 0 });
        sub = new Subscriber(busUrl(br.config), ['gus\t', '__probe__\t']);
        await sub.ready(br.bridge);
    });
    afterAll(async () => {
        sub?.close();
        await br?.stop();
        await mc?.stop();
    });
    const gus = () => sub.events.filter(e => e.user === 'gus');

    it('publishes without seq while memcached stalls (bounded), then resumes numbering behind a reset', async () => {
        br.bridge.events.emit(flag('gus', 'before', 1));
        await sub.waitFor(() => gus().length === 1, 'sequenced event');
        expect(gus()[0].seq).toBe(1);

        process.kill(mc.pid!, 'SIGSTOP'); // unreachable, data kept
        try {
            await stoppedAll([mc.pid!]);
            br.bridge.events.emit(flag('gus', 'down1', 2));
            br.bridge.events.emit(flag('gus', 'down2', 3));
            await sub.waitFor(() => gus().length === 3, 'events while memcached is stalled');
            expect(
                gus()
                    .slice(1)
                    .map(e => [e.id, e.seq])
            ).toEqual([
                ['down1', undefined],
                ['down2', undefined]
            ]);
        } finally {
            process.kill(mc.pid!, 'SIGCONT');
        }
        const [reset, next] = await resumed('up');
        // An INCR that timed out may still have been applied once memcached woke: its seq is a hole.
        expect(reset).toMatchObject({ type: 'reset', reason: 'sequence-unavailable' });
        expect(reset.seq).toBeGreaterThan(1);
        expect(next.seq).toBe(reset.seq! + 1);
        // Anyone replaying from before the outage gets a reset first (the journaled one, or the hole's).
        expect((await br.bridge.events.replay('gus', 1))[0]).toMatchObject({ type: 'reset' });
    });

    it('a counter memcached lost (restart) does not reuse seqs: it jumps ahead behind a reset', async () => {
        const before = gus()
            .filter(e => e.seq !== undefined)
            .at(-1)!.seq!;
        await mc.stop();
        await mc.start(); // same port, empty
        const [reset, next] = await resumed('again');
        expect(reset).toMatchObject({ type: 'reset', reason: expect.stringMatching(/^sequence-(restarted|unavailable)$/) });
        expect(reset.seq!).toBeGreaterThan(before);
        expect(next.seq).toBe(reset.seq! + 1);
        // A cursor from before the restart gets a reset, not the numbers after it.
        expect((await br.bridge.events.replay('gus', before))[0]).toMatchObject({ type: 'reset' });
    });

    /** Emits until sequencing works again; returns the first two sequenced events after that. */
    async function resumed(prefix: string): Promise<VmEvent[]> {
        const from = gus().length;
        let n = 0;
        await waitFor(
            () => {
                br.bridge.events.emit(flag('gus', `${prefix}${n++}`, 100 + n));
                return (
                    gus()
                        .slice(from)
                        .filter(e => e.seq !== undefined).length >= 2
                );
            },
            15_000,
            'sequencing to resume'
        );
        return gus()
            .slice(from)
            .filter(e => e.seq !== undefined)
            .slice(0, 2);
    }
});
