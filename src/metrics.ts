// prom-client metrics, one registry for the process; served on the admin listener (/metrics).
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'vmbridge_' });

export const messages = new Counter({
    name: 'vmbridge_messages_total',
    help: 'Recipient copies handled, by message class and outcome (stored, relayed, refused, deferred)',
    labelNames: ['class', 'outcome'] as const,
    registers: [registry]
});

export const downstreamLatency = new Histogram({
    name: 'vmbridge_downstream_seconds',
    help: 'Time from end of DATA to the downstream reply',
    labelNames: ['target'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry]
});

export const events = new Counter({
    name: 'vmbridge_events_total',
    help: 'Events published, by type',
    labelNames: ['type'] as const,
    registers: [registry]
});

export const pushDrops = new Counter({
    name: 'vmbridge_push_drops_total',
    help: 'Frames not sent to a push endpoint, by reason (queue_full, timeout, backoff, error, no_uid)',
    labelNames: ['reason'] as const,
    registers: [registry]
});

export const resolverErrors = new Counter({
    name: 'vmbridge_resolver_errors_total',
    help: 'Resolver (memcached) lookups that failed or timed out',
    registers: [registry]
});

export const ingestBatches = new Counter({
    name: 'vmbridge_ingest_batches_total',
    help: 'Batches received from the Dovecot hook, by result (accepted, unauthorized, invalid, too_large, gap)',
    labelNames: ['result'] as const,
    registers: [registry]
});

export const intakeRefusals = new Counter({
    name: 'vmbridge_intake_refusals_total',
    help: 'Connections and commands refused by intake policy, by reason (access, untrusted, limit, draining, auth, sender, tls, timeout)',
    labelNames: ['reason'] as const,
    registers: [registry]
});

export const mwiRecounts = new Counter({
    name: 'vmbridge_mwi_recounts_total',
    help: 'Voicemail box recounts over IMAP, by result (ok, error)',
    labelNames: ['result'] as const,
    registers: [registry]
});

export const journalErrors = new Counter({
    name: 'vmbridge_journal_errors_total',
    help: 'Journal operations that failed or timed out, by op (allocate: events went out without seq; append: not replayable)',
    labelNames: ['op'] as const,
    registers: [registry]
});

export const processFaults = new Counter({
    name: 'vmbridge_process_faults_total',
    help: 'Unhandled promise rejections (logged, process kept) and uncaught exceptions (drain, exit 70), by kind',
    labelNames: ['kind'] as const,
    registers: [registry]
});
