// The coalescer's timing, with fake timers: the first event after quiet goes at once, a burst is
// held and handed on together, the window slides but never past maxHold, shutdown flushes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { Coalescer } from '../../src/publish/coalesce.js';

const ev = (id: string, user = 'u'): VmEvent => makeEvent({ id, type: 'delete', user, mailbox: 'INBOX', uid: 1 });

describe('Coalescer', () => {
    let out: [string, string[]][];
    let c: Coalescer;
    beforeEach(() => {
        vi.useFakeTimers();
        out = [];
        c = new Coalescer({ windowMs: 100, maxHoldMs: 250 }, (user, evs) => out.push([user, evs.map(e => e.id)]));
    });
    afterEach(() => {
        c.flushAll();
        vi.useRealTimers();
    });

    it('hands the first event after a quiet period on at once, per user', () => {
        c.emit(ev('a1', 'a'));
        c.emit(ev('b1', 'b'));
        expect(out).toEqual([
            ['a', ['a1']],
            ['b', ['b1']]
        ]);
    });

    it('holds a burst and hands it on together once the window passes quietly', () => {
        c.emit(ev('1'));
        c.emit(ev('2'));
        vi.advanceTimersByTime(50);
        c.emit(ev('3'));
        vi.advanceTimersByTime(99); // the window slid with event 3
        expect(out).toEqual([['u', ['1']]]);
        vi.advanceTimersByTime(1);
        expect(out).toEqual([
            ['u', ['1']],
            ['u', ['2', '3']]
        ]);
    });

    it('never holds an event longer than maxHold while the burst goes on', () => {
        c.emit(ev('0'));
        for (let i = 1; i <= 10; i++) {
            c.emit(ev(String(i)));
            vi.advanceTimersByTime(40); // always inside the window: it would slide forever
        }
        // Event 1 was held at t=0; maxHold 250 → handed on at t=250 with everything until then.
        expect(out[1]).toEqual(['u', ['1', '2', '3', '4', '5', '6', '7']]);
        vi.advanceTimersByTime(1000);
        expect(out.flatMap(([, ids]) => ids)).toEqual(Array.from({ length: 11 }, (_, i) => String(i)));
    });

    it('after a quiet window the next event is immediate again', () => {
        c.emit(ev('1'));
        vi.advanceTimersByTime(100);
        c.emit(ev('2'));
        expect(out).toEqual([
            ['u', ['1']],
            ['u', ['2']]
        ]);
    });

    it('flushAll hands on everything held (shutdown)', () => {
        c.emit(ev('1'));
        c.emit(ev('2'));
        c.emit(ev('x', 'other'));
        c.emit(ev('y', 'other'));
        c.flushAll();
        expect(out).toEqual([
            ['u', ['1']],
            ['other', ['x']],
            ['u', ['2']],
            ['other', ['y']]
        ]);
        vi.advanceTimersByTime(1000);
        expect(out).toHaveLength(4); // no timer fires afterwards
    });
});

describe('Coalescer with window 0 (the default)', () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    it('hands every event on at once and keeps no timer or state per event', () => {
        const out: string[] = [];
        const c = new Coalescer({ windowMs: 0, maxHoldMs: 1000 }, (_user, evs) => out.push(...evs.map(e => e.id)));
        for (let i = 0; i < 100; i++) c.emit(ev(`e${i}`, `user${i % 3}`));
        expect(out).toHaveLength(100);
        expect(vi.getTimerCount()).toBe(0);
    });
});

describe('Coalescer burst timers', () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    it('a long burst keeps one hold timer (re-armed when the window slid), not one per event', () => {
        const out: string[][] = [];
        const c = new Coalescer({ windowMs: 100, maxHoldMs: 10_000 }, (_user, evs) => out.push(evs.map(e => e.id)));
        const set = vi.spyOn(globalThis, 'setTimeout');
        for (let i = 0; i < 1000; i++) {
            c.emit(ev(`e${i}`));
            vi.advanceTimersByTime(1);
        }
        // one idle timer for the first hand-on, one hold timer re-armed about once per window
        expect(set.mock.calls.length).toBeLessThan(30);
        vi.advanceTimersByTime(100);
        expect(out.flat()).toHaveLength(1000);
        set.mockRestore();
        c.flushAll();
    });
});
