// Messages/s and events/s over the last minute for the status page: counter totals sampled every
// few seconds into a short ring (prometheus does this properly; the page needs no Prometheus).
import type { Registry } from 'prom-client';

const SAMPLE_MS = 5000;
const WINDOW_MS = 60_000;

export class Rates {
    private readonly samples: { at: number; values: Record<string, number> }[] = [];
    private timer?: NodeJS.Timeout;

    /** `series`: name → the counter (and optional label filter) to total. */
    constructor(
        private readonly registry: Registry,
        private readonly series: Record<string, { metric: string; labels?: Record<string, string> }>
    ) {}

    start(): void {
        void this.sample();
        this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
        this.timer.unref();
    }

    stop(): void {
        clearInterval(this.timer);
    }

    /** Per second over the window (or what has been sampled of it), with a fresh sample as the end. */
    async perSecond(): Promise<Record<string, number>> {
        const now = { at: Date.now(), values: await this.read() };
        const first = this.samples[0] ?? now;
        const dt = (now.at - first.at) / 1000;
        const out: Record<string, number> = {};
        for (const k of Object.keys(this.series)) out[k] = dt > 0 ? Math.round(((now.values[k] - first.values[k]) / dt) * 100) / 100 : 0;
        return out;
    }

    private async sample(): Promise<void> {
        this.samples.push({ at: Date.now(), values: await this.read() });
        while (this.samples.length > 1 && Date.now() - this.samples[0].at > WINDOW_MS) this.samples.shift();
    }

    private async read(): Promise<Record<string, number>> {
        const out: Record<string, number> = {};
        for (const [k, { metric, labels }] of Object.entries(this.series)) out[k] = await total(this.registry, metric, labels);
        return out;
    }
}

/** Sum of a metric's values whose labels match `labels`. */
export async function total(registry: Registry, metric: string, labels: Record<string, string> = {}): Promise<number> {
    const m = registry.getSingleMetric(metric);
    if (!m) return 0;
    const { values } = await m.get();
    return values.filter(v => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)).reduce((a, v) => a + v.value, 0);
}
