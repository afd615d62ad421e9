import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CachedProbe } from '../../src/admin/probe.js';

describe('CachedProbe: cheap and bounded', () => {
    beforeEach(() => void vi.useFakeTimers());
    afterEach(() => void vi.useRealTimers());

    it('runs the check at most once per interval however often it is asked', async () => {
        const run = vi.fn(async () => ({ ok: true }));
        const p = new CachedProbe(run, 2000, 1500);
        await Promise.all([p.get(), p.get(), p.get()]);
        await p.get();
        expect(run).toHaveBeenCalledTimes(1);
        vi.advanceTimersByTime(2001);
        await p.get();
        expect(run).toHaveBeenCalledTimes(2);
    });

    it('a hanging dependency: the answer comes after the bound, not when the check ends', async () => {
        let finish: (r: { ok: boolean }) => void = () => undefined;
        const run = vi.fn(() => new Promise<{ ok: boolean }>(r => (finish = r)));
        const p = new CachedProbe(run, 2000, 1500);
        const answer = p.get();
        await vi.advanceTimersByTimeAsync(1500);
        expect(await answer).toEqual({ ok: false, problem: 'probe timed out' });
        // asked again while the first check still hangs: no second check piles up
        const again = p.get();
        await vi.advanceTimersByTimeAsync(1500);
        await again;
        expect(run).toHaveBeenCalledTimes(1);
        finish({ ok: true });
        await vi.advanceTimersByTimeAsync(0);
        expect(await p.get()).toMatchObject({ ok: true });
    });

    it('a check that throws is a failure with its message', async () => {
        const p = new CachedProbe(
            async () => {
                throw new Error('boom');
            },
            2000,
            1500
        );
        expect(await p.get()).toEqual({ ok: false, problem: 'boom' });
    });
});
