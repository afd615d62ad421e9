// The status page's data (GET /status.json): readiness and each dependency, rates over the last
// minute, subscribers, recent warn/error log entries (redacted), version. Operational data only.
import { readFileSync } from 'node:fs';
import { registry } from '../metrics.js';
import { recentErrors } from './recent-errors.js';
import { Rates } from './rates.js';
import type { Health } from './server.js';

const VERSION = readVersion();

export class StatusSource {
    private readonly rates = new Rates(registry, {
        messagesStored: { metric: 'vmbridge_messages_total', labels: { outcome: 'stored' } },
        messagesDeferred: { metric: 'vmbridge_messages_total', labels: { outcome: 'deferred' } },
        rcptFailures: { metric: 'vmbridge_rcpt_failures_total' },
        events: { metric: 'vmbridge_events_total' }
    });

    constructor(private readonly health: () => Promise<Health>) {}

    start(): void {
        this.rates.start();
    }

    stop(): void {
        this.rates.stop();
    }

    async snapshot(): Promise<Record<string, unknown>> {
        const [health, rates, subscribers] = await Promise.all([this.health(), this.rates.perSecond(), byLabel('vmbridge_subscribers', 'transport')]);
        return {
            version: VERSION,
            uptimeSeconds: Math.round(process.uptime()),
            now: new Date().toISOString(),
            health,
            ratesPerSecond: rates,
            subscribers,
            recentErrors: recentErrors()
        };
    }
}

async function byLabel(metric: string, label: string): Promise<Record<string, number>> {
    const m = registry.getSingleMetric(metric);
    const out: Record<string, number> = {};
    for (const v of m ? (await m.get()).values : []) out[String(v.labels[label])] = v.value;
    return out;
}

function readVersion(): string {
    try {
        // src/admin/ and dist/admin/ are both two levels below the package root
        return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
        return 'unknown';
    }
}
