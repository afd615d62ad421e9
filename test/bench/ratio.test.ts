// bench/dovecot-cost's LMTP ratio verdict (bench/lib/ratio.mjs): the hooked Dovecot's rate over the
// control's, round by round, judged by the bootstrap interval of the median — a shared machine's
// drift moved single rounds by ±0.15, and the median of five either side of 0.9 run to run.
import { describe, expect, it } from 'vitest';
import { atLeastVerdict, medianOf, ratioCi, roundRatios } from '../../bench/lib/ratio.mjs';

/** A seeded generator (LCG): the same samples and resamples every run. */
function lcg(seed: number): () => number {
    let s = seed >>> 0;
    return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Rounds of a control drifting 600–1000 msg/s and a variant at `ratio` of it, ± `jitter`. */
function rounds(n: number, ratio: number, jitter: number, random: () => number): [number[], number[]] {
    const a = Array.from({ length: n }, () => 600 + 400 * random());
    return [a, a.map(x => x * ratio * (1 + jitter * (2 * random() - 1)))];
}

describe('LMTP ratio verdict', () => {
    it('pairs the rounds and takes their median', () => {
        expect(roundRatios([100, 200, 400], [90, 200, 200, 999])).toEqual([0.9, 1, 0.5]);
        expect(medianOf([3, 1, 2])).toBe(2);
    });

    it('a clear margin either way is decided, drift of the control or not', () => {
        const random = lcg(7);
        const [a, b] = rounds(8, 0.97, 0.03, random);
        const ci = ratioCi(a, b, { random });
        expect(ci[0]).toBeGreaterThanOrEqual(0.9);
        expect(atLeastVerdict(ci, 0.9)).toBe('met');
        const [c, d] = rounds(8, 0.8, 0.03, random);
        expect(atLeastVerdict(ratioCi(c, d, { random }), 0.9)).toBe('missed');
    });

    it('near the target with rounds that scatter: undecided, not a coin toss', () => {
        const random = lcg(11);
        const [a, b] = rounds(5, 0.9, 0.15, random);
        const [lo, hi] = ratioCi(a, b, { random });
        expect(lo).toBeLessThan(0.9);
        expect(hi).toBeGreaterThan(0.9);
        expect(atLeastVerdict([lo, hi], 0.9)).toBe('undecided');
    });
});
