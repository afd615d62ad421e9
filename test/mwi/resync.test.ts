// Full recounts are paced (fake timers): ratePerSec boxes a second whatever the number of boxes,
// a resync asked for during one merges into it, periodic runs only when configured.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BoxDirectory } from '../../src/mwi/boxes.js';
import { PUSH } from '../../src/mwi/recount.js';
import { Resync } from '../../src/mwi/resync.js';
import { parseVoicemailConf } from '../../src/mwi/voicemail-conf.js';

function boxes(n: number): BoxDirectory {
    const lines = Array.from({ length: n }, (_, i) => `${2000 + i} => 1234,U${i},,,imapuser=u${i}@example.org`);
    return new BoxDirectory(parseVoicemailConf(`[default]\n${lines.join('\n')}\n`));
}

function setup(n: number, opts: { intervalMs?: number; ratePerSec?: number } = {}) {
    const requested: { id: string; flags: number; at: number }[] = [];
    const dir = boxes(n);
    const resync = new Resync(
        dir,
        { request: (bs, flags) => bs.forEach(b => requested.push({ id: b.id, flags: Number(flags), at: Date.now() })) },
        {
            intervalMs: opts.intervalMs ?? 0,
            ratePerSec: opts.ratePerSec ?? 100
        }
    );
    return { resync, requested };
}

describe('Resync pacing', () => {
    beforeEach(() => void vi.useFakeTimers({ now: 0 }));
    afterEach(() => void vi.useRealTimers());

    it('10,000 boxes at 100/s: 10 per 100 ms tick, all done in 100 s, each once', async () => {
        const { resync, requested } = setup(10_000);
        resync.start();
        expect(requested).toHaveLength(10); // the first tick at once
        await vi.advanceTimersByTimeAsync(1000);
        expect(requested).toHaveLength(110);
        await vi.advanceTimersByTimeAsync(98_000);
        expect(requested).toHaveLength(9_910);
        await vi.advanceTimersByTimeAsync(1000);
        expect(requested).toHaveLength(10_000);
        expect(new Set(requested.map(r => r.id)).size).toBe(10_000);
        expect(resync.pending).toBe(0);
        // no second-long window ever held more than the rate
        const perSecond = new Map<number, number>();
        for (const r of requested) perSecond.set(Math.floor(r.at / 1000), (perSecond.get(Math.floor(r.at / 1000)) ?? 0) + 1);
        expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(100);
        expect(vi.getTimerCount()).toBe(0);
    });

    it('a slow rate releases one box per 1/rate seconds', async () => {
        const { resync, requested } = setup(3, { ratePerSec: 2 });
        resync.start();
        expect(requested).toHaveLength(1);
        await vi.advanceTimersByTimeAsync(500);
        expect(requested).toHaveLength(2);
        await vi.advanceTimersByTimeAsync(500);
        expect(requested).toHaveLength(3);
    });

    it('a resync during one merges: queued boxes once, with both flags', async () => {
        const { resync, requested } = setup(30, { ratePerSec: 100 });
        resync.start();
        resync.all('AMI reconnected', PUSH);
        expect(resync.pending).toBe(30); // 10 released with flags 0 are queued again, pushed
        await vi.advanceTimersByTimeAsync(300);
        expect(requested).toHaveLength(40);
        expect(requested.slice(10).every(r => r.flags === PUSH)).toBe(true);
    });

    it('periodic runs only when an interval is set; stop() ends everything', async () => {
        const off = setup(2);
        off.resync.start();
        await vi.advanceTimersByTimeAsync(3_600_000);
        expect(off.requested).toHaveLength(2);
        const on = setup(2, { intervalMs: 60_000 });
        on.resync.start();
        await vi.advanceTimersByTimeAsync(120_000);
        expect(on.requested).toHaveLength(6);
        on.resync.stop();
        await vi.advanceTimersByTimeAsync(120_000);
        expect(on.requested).toHaveLength(6);
        expect(vi.getTimerCount()).toBe(0);
    });
});
