// Types for bench/lib/p99.mjs (test/bench/p99.test.ts imports it).
export interface BootstrapOptions {
    resamples?: number;
    random?: () => number;
}
export function percentile(sorted: ArrayLike<number>, p: number): number;
export function p99AddedCi(a: readonly number[], b: readonly number[], opts?: BootstrapOptions): [number, number];
export function p99Ci(xs: readonly number[], opts?: BootstrapOptions): [number, number];
export function verdictOf(ci: readonly [number, number], target: number): 'met' | 'missed' | 'undecided';
export function p99Verdict(a: readonly number[], b: readonly number[], target: number, opts?: BootstrapOptions): 'met' | 'missed' | 'undecided';
