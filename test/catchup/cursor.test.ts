// CursorGate on its own: the seam between replay and live, reordering, duplicates, gap filling
// and resets, with a scripted journal (the real ones are exercised in bridges.test.ts).
import { describe, expect, it } from 'vitest';
import { CursorGate } from '../../src/client/cursor.js';
import { makeEvent, type EventType, type VmEvent } from '../../src/events/event.js';
import { resetEvent } from '../../src/publish/journal.js';
import { anEvent, asType } from '../helpers/events.js';
import { waitFor } from '../helpers/net.js';

const ev = (seq: number, type: EventType = 'flag'): VmEvent => anEvent(type, { id: `e${seq}`, seq, user: 'u' });
const seqs = (evs: VmEvent[]) => evs.map(e => (e.type === 'reset' ? `R${e.seq ?? ''}` : e.seq));

function gate(journal: VmEvent[], opts: { since?: number; types?: VmEvent['type'][]; replay?: (since: number) => Promise<VmEvent[]> } = {}) {
    const got: VmEvent[] = [];
    const calls: number[] = [];
    const g = new CursorGate(
        {
            user: 'u',
            since: opts.since,
            types: opts.types,
            gapWaitMs: 50,
            replay:
                opts.replay ??
                (async since => {
                    calls.push(since);
                    return journal.filter(e => e.seq! > since);
                })
        },
        e => got.push(e)
    );
    return { g, got, calls };
}

describe('CursorGate', () => {
    it('replays from the cursor, holds live events meanwhile, and skips what the replay covered', async () => {
        let release!: () => void;
        const gateOpen = new Promise<void>(r => (release = r));
        const journal = [1, 2, 3, 4, 5].map(n => ev(n));
        const { g, got } = gate([], { since: 2, replay: async since => (await gateOpen, journal.filter(e => e.seq! > since)) });
        g.start();
        g.live(ev(5)); // live overlaps the replay …
        g.live(ev(6)); // … and goes past it
        expect(got).toEqual([]);
        release();
        await waitFor(() => got.length === 4);
        expect(seqs(got)).toEqual([3, 4, 5, 6]);
        expect(g.position).toBe(6);
    });

    it('reorders a late event from another instance and drops duplicates', async () => {
        const { g, got, calls } = gate([]);
        g.live(ev(10));
        g.live(ev(12));
        g.live(ev(11));
        g.live(ev(11));
        g.live(ev(12));
        expect(seqs(got)).toEqual([10, 11, 12]);
        expect(calls).toEqual([]);
    });

    it('fills a gap that does not close by itself from the journal', async () => {
        const journal = [1, 2, 3, 4].map(n => ev(n));
        const { g, got, calls } = gate(journal);
        g.live(ev(1));
        g.live(ev(4)); // 2 and 3 were dropped on the way
        await waitFor(() => got.length === 4);
        expect(seqs(got)).toEqual([1, 2, 3, 4]);
        expect(calls).toEqual([1]);
    });

    it('passes a reset on and continues from its seq; mwi snapshots follow it', async () => {
        const mwi = makeEvent({ id: 'm', type: 'mwi', user: 'u', mwi: { mailbox: '1000@default', new: 1, old: 0, urgent: 0 } });
        const { g, got } = gate([], { since: 3, replay: async () => [resetEvent('u', 'cursor-too-old', 9), mwi] });
        g.start();
        g.live(ev(9)); // covered by the resync
        g.live(ev(10));
        await waitFor(() => got.length === 3);
        expect(got.map(e => e.type)).toEqual(['reset', 'mwi', 'flag']);
        expect(asType(got[0], 'reset').reason).toBe('cursor-too-old');
        expect(got[2].seq).toBe(10);
    });

    it('says reset when the journal cannot be reached, and goes on with live events', async () => {
        const { g, got } = gate([], { since: 3, replay: async () => Promise.reject(new Error('down')) });
        g.start();
        g.live(ev(7));
        await waitFor(() => got.length === 2);
        expect(got[0]).toMatchObject({ type: 'reset', reason: 'replay-unavailable' });
        expect(got[1].seq).toBe(7);
    });

    it('recognises a counter that started over (seq 1 never seen) instead of dropping it', () => {
        const { g, got } = gate([]);
        g.live(ev(41));
        g.live(anEvent('flag', { id: 'fresh', seq: 1, user: 'u' }));
        expect(got.map(e => `${e.type}:${e.seq}`)).toEqual(['flag:41', 'reset:0', 'flag:1']);
    });

    it('filters types but advances the position over the others; unsequenced events pass through', () => {
        const { g, got } = gate([], { types: ['mwi'] });
        g.live(ev(1, 'flag'));
        g.live(ev(2, 'mwi'));
        g.live(anEvent('mwi', { id: 'x', user: 'u' }));
        g.live(ev(3, 'flag'));
        expect(got.map(e => e.id)).toEqual(['e2', 'x']);
        expect(g.position).toBe(3);
    });
});
