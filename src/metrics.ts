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
    help: 'Batches received from the Dovecot hook, by result (accepted, unauthorized, stale, invalid, too_large, rate_limited, gap; conn_limit, timeout, busy for connections refused before proving the key)',
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

export const AMI_ACTIONS = ['VoicemailRefresh', 'MWIUpdate'] as const;
export const AMI_RESULTS = ['ok', 'refused', 'failed'] as const;
export const amiActions = new Counter({
    name: 'vmbridge_ami_actions_total',
    help: 'AMI actions sent to Asterisk, by action and result (ok; refused: Asterisk answered with an error such as Permission denied; failed: no answer, connection lost)',
    labelNames: ['action', 'result'] as const,
    registers: [registry]
});
// Every known series exists from the start, so an alert on `refused` sees 0 → 1.
for (const action of AMI_ACTIONS) for (const result of AMI_RESULTS) amiActions.inc({ action, result }, 0);

export const mwiCorrections = new Counter({
    name: 'vmbridge_mwi_corrections_total',
    help: "Asterisk message-waiting states that disagreed with a fresh recount, by result (sent: corrected; suppressed: not sent because Asterisk keeps publishing that state or the box's correction budget is spent)",
    labelNames: ['result'] as const,
    registers: [registry]
});
for (const result of ['sent', 'suppressed']) mwiCorrections.inc({ result }, 0);

export const hookGaps = new Counter({
    name: 'vmbridge_hook_gaps_total',
    help: "Dovecot hook reports that never came, by kind (delivery: a stored copy's MessageNew; batch: a hook sequence gap; stream: a batch cut short or refused)",
    labelNames: ['kind'] as const,
    registers: [registry]
});

export const processFaults = new Counter({
    name: 'vmbridge_process_faults_total',
    help: 'Unhandled promise rejections (logged, process kept) and uncaught exceptions (drain, exit 70), by kind',
    labelNames: ['kind'] as const,
    registers: [registry]
});

export const webhookDeliveries = new Counter({
    name: 'vmbridge_webhook_deliveries_total',
    help: 'Webhook batch POSTs by result (ok: 2xx; failed: error, timeout or non-2xx, retried with back-off)',
    labelNames: ['result'] as const,
    registers: [registry]
});

export const webhookDisabled = new Counter({
    name: 'vmbridge_webhook_disabled_total',
    help: 'Webhook endpoints disabled after sustained failure (re-enable with vmbridge webhook enable)',
    registers: [registry]
});
