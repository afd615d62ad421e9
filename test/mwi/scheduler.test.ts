// The recount scheduler's timing with fake timers: the first request after quiet runs at once,
// requests during a run or within debounceMs merge into one later run, never two runs of a key at
// once, flags of merged requests are ORed, stop() cancels what is scheduled.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RecountScheduler } from '../../src/mwi/scheduler.js';
import { captureLogger } from './log-capture.js';

interface Run {
    key: string;
    flags: number;
    at: number;
    done(): void;
    fail(err: Error): void;
}

function setup(debounceMs = 100) {
    const runs: Run[] = [];
    let running = 0;
    let maxRunning = 0;
    const { logger, records } = captureLogger();
    const s = new RecountScheduler(
        (key, flags) =>
            new Promise<void>((resolve, reject) => {
                maxRunning = Math.max(maxRunning, ++running);
                const end = (fn: () => void) => () => (running--, fn());
                runs.push({ key, flags, at: Date.now(), done: end(resolve), fail: e => end(() => reject(e))() });
            }),
        { debounceMs, logger }
    );
    return { s, runs, records, max: () => maxRunning };
}

/** Lets promise callbacks (the job's finally) run. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('RecountScheduler', () => {
    beforeEach(() => void vi.useFakeTimers({ now: 1_000_000 }));
    afterEach(() => void vi.useRealTimers());

    it('runs the first request after a quiet period at once', () => {
        const { s, runs } = setup();
        s.request('a');
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({ key: 'a', flags: 0, at: 1_000_000 });
        expect(s.busy()).toBe(true);
    });

    it('merges requests during a run into one run, no earlier than debounceMs after the previous start', async () => {
        const { s, runs, max } = setup(100);
        s.request('a');
        for (let i = 0; i < 20; i++) s.request('a', i === 5 ? 1 : 0);
        await vi.advanceTimersByTimeAsync(30);
        runs[0].done();
        await settle();
        expect(runs).toHaveLength(1); // 30 ms after the first start: waits for the debounce
        await vi.advanceTimersByTimeAsync(69);
        expect(runs).toHaveLength(1);
        await vi.advanceTimersByTimeAsync(1);
        expect(runs).toHaveLength(2);
        expect(runs[1]).toMatchObject({ key: 'a', flags: 1, at: 1_000_100 });
        runs[1].done();
        await settle();
        expect(s.busy()).toBe(false);
        expect(max()).toBe(1);
    });

    it('a run that outlasts the debounce is followed at once by the merged run', async () => {
        const { s, runs } = setup(100);
        s.request('a');
        s.request('a', 2);
        await vi.advanceTimersByTimeAsync(500);
        expect(runs).toHaveLength(1);
        runs[0].done();
        await settle();
        expect(runs).toHaveLength(2);
        expect(runs[1].flags).toBe(2);
    });

    it('requests within debounceMs after a finished run are delayed and merged; flags ORed', async () => {
        const { s, runs } = setup(100);
        s.request('a');
        runs[0].done();
        await settle();
        s.request('a', 1);
        s.request('a', 2);
        expect(runs).toHaveLength(1);
        await vi.advanceTimersByTimeAsync(100);
        expect(runs).toHaveLength(2);
        expect(runs[1].flags).toBe(3);
    });

    it('keys are independent', () => {
        const { s, runs } = setup(100);
        s.request('a');
        s.request('b');
        expect(runs.map(r => r.key)).toEqual(['a', 'b']);
    });

    it('a failing job is logged and does not stop later runs', async () => {
        const { s, runs, records } = setup(10);
        s.request('a');
        s.request('a');
        runs[0].fail(new Error('boom'));
        await settle();
        expect(records.some(r => r.level === 40 && r.err === 'boom' && r.box === 'a')).toBe(true);
        await vi.advanceTimersByTimeAsync(10);
        expect(runs).toHaveLength(2);
    });

    it('stop() cancels scheduled runs and ignores later requests', async () => {
        const { s, runs } = setup(100);
        s.request('a');
        runs[0].done();
        await settle();
        s.request('a');
        s.stop();
        await vi.advanceTimersByTimeAsync(1000);
        s.request('b');
        expect(runs).toHaveLength(1);
        expect(vi.getTimerCount()).toBe(0);
    });
});
