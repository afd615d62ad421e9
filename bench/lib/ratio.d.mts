// Types for bench/lib/ratio.mjs (test/bench/ratio.test.ts imports it).
import type { BootstrapOptions } from './p99.mjs';
export function roundRatios(a: readonly number[], b: readonly number[]): number[];
export function medianOf(xs: readonly number[]): number;
export function ratioCi(a: readonly number[], b: readonly number[], opts?: BootstrapOptions): [number, number];
export function atLeastVerdict(ci: readonly [number, number], target: number): 'met' | 'missed' | 'undecided';
