// prom-client metrics, one registry for the process; served on the admin listener (/metrics).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EVENT_TYPES, MESSAGE_CLASSES } from './events/event.js';

export const registry = new Registry();
// Node's default metrics keep their standard names (process_*, nodejs_*): stock dashboards work.
collectDefaultMetrics({ register: registry });

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

export const busDrops = new Counter({
    name: 'vmbridge_bus_drops_total',
    help: 'Bus frames not sent to a SUB subscriber whose unsent data passed the high-water mark (it catches up from the journal)',
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

export const httpStreams = new Counter({
    name: 'vmbridge_http_streams_total',
    help: 'Client listener streams (SSE and WebSocket), by how they ended (opened, closed, overflow)',
    labelNames: ['event'] as const,
    registers: [registry]
});

export const httpAuth = new Counter({
    name: 'vmbridge_http_auth_total',
    help: 'Client listener sign-ins, by result (token, basic, refused, limited, unavailable)',
    labelNames: ['result'] as const,
    registers: [registry]
});

export const webhookDeliveries = new Counter({
    name: 'vmbridge_webhook_deliveries_total',
    help: 'Webhook batch POSTs by result (ok: 2xx; failed: error, timeout or non-2xx, retried with back-off)',
    labelNames: ['result'] as const,
    registers: [registry]
});

export const RCPT_FAILURES = [
    ['refused', '550'],
    ['deferred', '451']
] as const;
export const rcptFailures = new Counter({
    name: 'vmbridge_rcpt_failures_total',
    help: "RCPT commands answered with an error, by result (refused: 5xx such as Dovecot's 550 unknown user; deferred: 4xx such as 451 with Dovecot down) and reply code",
    labelNames: ['result', 'code'] as const,
    registers: [registry]
});
for (const [result, code] of RCPT_FAILURES) rcptFailures.inc({ result, code }, 0);

export const imapLoginFailures = new Counter({
    name: 'vmbridge_imap_login_failures_total',
    help: 'IMAP pool sessions that could not be opened (connect or master login failed)',
    registers: [registry]
});

/** Gauges that read their value at scrape time; a stage registers a reader and gets an unregister. */
function readGauge(name: string, help: string, label: string, known: readonly string[]) {
    const readers = new Map<string, Set<() => number>>();
    new Gauge({
        name,
        help,
        labelNames: [label],
        registers: [registry],
        collect() {
            this.reset(); // a reader that unregistered (a stopped bridge) leaves no stale series
            for (const key of new Set([...known, ...readers.keys()])) {
                let sum = 0;
                for (const r of readers.get(key) ?? []) sum += r();
                this.set({ [label]: key }, sum);
            }
        }
    });
    return (key: string, read: () => number): (() => void) => {
        const set = readers.get(key) ?? new Set();
        readers.set(key, set.add(read));
        return () => void set.delete(read);
    };
}

/** Connected subscribers per transport (push endpoints, replay clients, client-listener streams...). */
export const registerSubscribers = readGauge('vmbridge_subscribers', 'Subscribers that can be counted, by transport (the bus is PUB: its SUB sockets cannot)', 'transport', [
    'push',
    'http'
]);
/** IMAP pool sessions by state (busy, idle). */
export const registerImapSessions = readGauge('vmbridge_imap_sessions', 'IMAP pool sessions open, by state (busy, idle)', 'state', ['busy', 'idle']);
/** 1 when a dependency is usable at the last (cached) health probe, else 0. */
export const registerDependencyUp = readGauge('vmbridge_dependency_up', 'Dependencies usable at the last health probe (1) or not (0), by dependency', 'dependency', []);
/** Seconds since Dovecot's hook was last heard from (-1: never heard since start). */
export const registerHookSilence = readGauge(
    'vmbridge_hook_silence_seconds',
    "Seconds since Dovecot's hook was last heard from (a batch or hello); -1 before it was heard at all",
    'hook',
    ['ingest']
);

// Known label values start at zero, so rate() and increase() see the first failure (0 → 1) and a
// dashboard or alert finds its series before anything went wrong.
for (const cls of MESSAGE_CLASSES) for (const outcome of ['stored', 'relayed', 'refused', 'deferred']) messages.inc({ class: cls, outcome }, 0);
for (const type of EVENT_TYPES) events.inc({ type }, 0);
for (const reason of ['queue_full', 'timeout', 'backoff', 'error', 'no_uid']) pushDrops.inc({ reason }, 0);
for (const kind of ['delivery', 'batch', 'stream']) hookGaps.inc({ kind }, 0);
for (const result of ['accepted', 'unauthorized', 'stale', 'invalid', 'too_large', 'rate_limited', 'gap']) ingestBatches.inc({ result }, 0);
for (const result of ['ok', 'error']) mwiRecounts.inc({ result }, 0);
for (const op of ['allocate', 'append']) journalErrors.inc({ op }, 0);
for (const kind of ['unhandled_rejection', 'uncaught_exception']) processFaults.inc({ kind }, 0);
for (const reason of ['access', 'untrusted', 'limit', 'draining', 'auth', 'sender', 'tls', 'timeout']) intakeRefusals.inc({ reason }, 0);

/** Bytes on disk of the state directory's stores (state.db: the journal; index.db: the uid index; and their WALs). */
export const registerStateBytes = readGauge('vmbridge_state_db_bytes', 'Bytes on disk of <state-dir>/state.db, index.db and their WALs, by file', 'file', []);

export const webhookDisabled = new Counter({
    name: 'vmbridge_webhook_disabled_total',
    help: 'Webhook endpoints disabled after sustained failure (re-enable with vmbridge webhook enable)',
    registers: [registry]
});
