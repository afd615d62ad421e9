// Deciding a p99 "added" (a variant's p99 minus the control's) from two samples of round trips:
// the point estimate alone is not enough where p99 sits at the edge between the distribution's
// body and its rare multi-ms stalls (bench/README, "IMAP STORE p99 over tcp"): there a handful
// of stalls more or less moves it by a millisecond. No imports: test/bench/p99.test.ts loads it.

/** The p-th percentile of an ascending array (nearest rank). */
export function percentile(sorted, p) {
    if (!sorted.length) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** p99 of a bootstrap resample of xs (typed: numeric sort, fast). */
const resampledP99 = (xs, random) => percentile(Float64Array.from(xs, () => xs[Math.floor(random() * xs.length)]).sort(), 99);

/** The 2.5th and 97.5th percentiles of `resamples` draws, ms rounded to µs. */
function interval(draw, resamples) {
    const d = Float64Array.from({ length: resamples }, draw).sort();
    const r = x => Math.round(x * 1000) / 1000;
    return [r(percentile(d, 2.5)), r(percentile(d, 97.5))];
}

/** Bootstrap 95% interval of p99(b) − p99(a), ms rounded to µs. */
export function p99AddedCi(a, b, { resamples = 1000, random = Math.random } = {}) {
    return interval(() => resampledP99(b, random) - resampledP99(a, random), resamples);
}

/** Bootstrap 95% interval of p99(xs), ms rounded to µs: a latency's p99 against its target. */
export function p99Ci(xs, { resamples = 1000, random = Math.random } = {}) {
    return interval(() => resampledP99(xs, random), resamples);
}

/** 'met' when an interval [lo, hi] lies wholly at or below `target` ms, 'missed' wholly above, else 'undecided'. */
export function verdictOf([lo, hi], target) {
    return hi <= target ? 'met' : lo > target ? 'missed' : 'undecided';
}

/** The verdict on p99 added ≤ `target` ms, from a fresh bootstrap interval. */
export function p99Verdict(a, b, target, opts) {
    return verdictOf(p99AddedCi(a, b, opts), target);
}
