// Deciding a throughput ratio (a hooked Dovecot's LMTP rate over the control's) from rounds: each
// round measures every variant once, minutes of a shared machine's drift apart from the next, so
// one round's ratio reads anywhere in 0.7–1.05 where the median of five read 0.84–0.95 in runs of
// the same build (bench/README, "LMTP ratio by its interval"). A ratio is judged by its interval.
// No imports but p99.mjs: test/bench/ratio.test.ts loads it.
import { percentile } from './p99.mjs';

/** Each round's ratio b[r] / a[r] (the variant and the control measured in the same round). */
export const roundRatios = (a, b) => b.slice(0, a.length).map((x, r) => x / a[r]);

/** The median of an array of numbers. */
export const medianOf = xs => percentile(Float64Array.from(xs).sort(), 50);

/** Bootstrap 95% interval of the median per-round ratio, rounded to 0.001. */
export function ratioCi(a, b, { resamples = 2000, random = Math.random } = {}) {
    const rs = roundRatios(a, b);
    const d = Float64Array.from({ length: resamples }, () => medianOf(rs.map(() => rs[Math.floor(random() * rs.length)]))).sort();
    const r = x => Math.round(x * 1000) / 1000;
    return [r(percentile(d, 2.5)), r(percentile(d, 97.5))];
}

/** 'met' when an interval [lo, hi] lies wholly at or above `target`, 'missed' wholly below, else 'undecided'. */
export function atLeastVerdict([lo, hi], target) {
    return lo >= target ? 'met' : hi < target ? 'missed' : 'undecided';
}
