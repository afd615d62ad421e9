// bench/dovecot-cost's p99 verdict (bench/lib/p99.mjs): a p99 "added" is judged by its bootstrap
// interval, not its point estimate, which a few stalls more or less move by a millisecond where
// p99 sits at the edge of the distribution's body (the 2026-11-30 tcp row: +2.0 ms, CI 0.03 … 2.84).
import { describe, expect, it } from 'vitest';
import { p99AddedCi, p99Ci, p99Verdict, percentile, verdictOf } from '../../bench/lib/p99.mjs';

/** A seeded generator (LCG): the same samples and resamples every run. */
function lcg(seed: number): () => number {
    let s = seed >>> 0;
    return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** STORE-like round trips: a body around 0.4 ms and a share of 1–8 ms stalls. */
function roundTrips(n: number, stallShare: number, random: () => number): number[] {
    return Array.from({ length: n }, () => (random() < stallShare ? 1 + 7 * random() : 0.3 + 0.5 * random() ** 3));
}

describe('p99 verdict', () => {
    it('percentile is the nearest rank', () => {
        const xs = Array.from({ length: 100 }, (_, i) => i + 1);
        expect(percentile(xs, 50)).toBe(50);
        expect(percentile(xs, 99)).toBe(99);
        expect(percentile([], 99)).toBeNaN();
    });

    it('no difference, p99 inside the body: met', () => {
        const random = lcg(1);
        const a = roundTrips(4000, 0.005, random);
        const b = roundTrips(4000, 0.005, random);
        const [lo, hi] = p99AddedCi(a, b, { random, resamples: 400 });
        expect(lo).toBeLessThan(0);
        expect(hi).toBeGreaterThan(0);
        expect(p99Verdict(a, b, 1, { random, resamples: 400 })).toBe('met');
    });

    it('every round trip 2 ms slower: missed', () => {
        const random = lcg(2);
        const a = roundTrips(4000, 0.002, random); // p99 inside the body: a tight interval
        const b = a.map(x => x + 2);
        const [lo, hi] = p99AddedCi(a, b, { random, resamples: 400 });
        expect(lo).toBeGreaterThan(1);
        expect(hi).toBeGreaterThan(2);
        expect(p99Verdict(a, b, 1, { random, resamples: 400 })).toBe('missed');
    });

    it('p99 at the edge of the body: a point estimate over +1 ms, but undecided', () => {
        const random = lcg(3);
        const a = roundTrips(2000, 0.009, random);
        const b = roundTrips(2000, 0.012, random); // a few more stalls, from the same kind
        const p99 = (xs: number[]) =>
            percentile(
                [...xs].sort((x, y) => x - y),
                99
            );
        expect(p99(b) - p99(a)).toBeGreaterThan(1); // what the summary used to call "missed"
        expect(p99Verdict(a, b, 1, { random, resamples: 400 })).toBe('undecided');
    });

    it("one latency's p99 against a target: its interval holds the p99, and decides only when it lies on one side", () => {
        const random = lcg(4);
        const ms = roundTrips(1000, 0.02, random).map(x => x + 0.5); // p99 among the 1.5–8.5 ms stalls
        const p99 = percentile(
            [...ms].sort((x, y) => x - y),
            99
        );
        const [lo, hi] = p99Ci(ms, { random, resamples: 400 });
        expect(lo).toBeLessThanOrEqual(p99);
        expect(hi).toBeGreaterThanOrEqual(p99);
        expect(hi - lo).toBeGreaterThan(0.5); // 10 samples above p99: a wide interval
        expect(verdictOf([lo, hi], hi + 0.001)).toBe('met');
        expect(verdictOf([lo, hi], lo - 0.001)).toBe('missed');
        expect(verdictOf([lo, hi], (lo + hi) / 2)).toBe('undecided');
    });
});
