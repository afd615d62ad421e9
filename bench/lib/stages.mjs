// Breaks an event latency into stages (BENCH_STAGES=1): the bench's own start and arrival times
// plus what the bridge child recorded (emitter.mjs recordStages: hook, entry, out). All are
// process.hrtime ns of the one machine-wide monotonic clock, so a tail can be pinned on a stage.
import { stats } from './env.mjs';

/** start: Map key → ns (bigint); stages: { key: { hook?, entry?, out? } } (ns strings);
 * arrivals: { name: Map key → ns }; segments: [from, to] point names. One row per segment with
 * p50/p90/p99/max in ms over the keys that have both ends. */
export function stageRows(start, stages, arrivals, segments) {
    const points = [...start.keys()].map(key => {
        const p = { start: start.get(key) };
        for (const [k, v] of Object.entries(stages[key] ?? {})) p[k] = BigInt(v);
        for (const [name, m] of Object.entries(arrivals)) if (m.has(key)) p[name] = m.get(key);
        return p;
    });
    return segments.map(([from, to]) => {
        const s = stats(points.filter(p => p[from] !== undefined && p[to] !== undefined).map(p => Number(p[to] - p[from]) / 1e6));
        return { segment: `${from} → ${to}`, n: s.n, 'p50 ms': s.p50, 'p90 ms': s.p90, 'p99 ms': s.p99, 'max ms': s.max };
    });
}
