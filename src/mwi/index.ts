// Assembles the MWI stage from configuration: boxes, pooled IMAP counting, the recount service,
// the trigger the bridge feeds events to, AMI/externnotify notifiers, convergence with what
// Asterisk publishes, and the paced full resyncs (start, AMI reconnect, event gaps, periodic).
import { ConfigError } from '../config.js';
import type { EventSink } from '../events/sink.js';
import type { Logger } from '../log.js';
import { AmiClient } from './ami.js';
import { AmiNotifier, type AmiHealth } from './ami-notifier.js';
import { BoxDirectory } from './boxes.js';
import type { MwiConfig } from './config.js';
import { Converger } from './converge.js';
import { ImapCounter } from './count.js';
import { ExternNotifier } from './externnotify.js';
import { createImapPool, type ImapPool } from '../imap/pool.js';
import { MwiService, PUSH, type MwiNotifier } from './recount.js';
import { Resync } from './resync.js';
import { MwiTrigger } from './trigger.js';
import { readVoicemailConf } from './voicemail-conf.js';

export interface Mwi {
    /** Feed every event here (after enrichment); it never blocks. */
    trigger: EventSink;
    service: MwiService;
    boxes: BoxDirectory;
    resync: Resync;
    ami?: AmiClient;
    start(): void;
    /** Anything scheduled: recounts, paced resync, convergence checks (tests use it as a barrier). */
    busy(): boolean;
    /** Recount every known box (paced) and push the counts: after an outage the event side saw. */
    resyncAll(reason: string): void;
    /** AMI's state for readiness; undefined without --ami. */
    health(): AmiHealth | undefined;
    stop(): Promise<void>;
}

/** Undefined without --imap: there is nothing to count with. */
/** `deps.imap`: the bridge's one pool (kept open by its owner); without it MWI opens and closes its own. */
export function createMwi(cfg: MwiConfig, deps: { out: EventSink; logger: Logger; imap?: ImapPool }): Mwi | undefined {
    if (!cfg.imap) return undefined;
    const logger = deps.logger.child({ stage: 'mwi' });
    let boxes: BoxDirectory;
    try {
        boxes = new BoxDirectory(cfg.voicemailConf ? readVoicemailConf(cfg.voicemailConf) : undefined);
    } catch (err) {
        throw new ConfigError(`invalid option --voicemail-conf: ${(err as Error).message}`);
    }
    const pool = deps.imap ?? createImapPool(cfg.imap, cfg.imapMasterSeparator, logger);
    const ownPool = !deps.imap;
    const notifiers: MwiNotifier[] = [];
    let ami: AmiClient | undefined;
    let amiNotifier: AmiNotifier | undefined;
    if (cfg.ami) {
        ami = new AmiClient(cfg.ami, { logger });
        notifiers.push((amiNotifier = new AmiNotifier(ami, cfg.amiMode, logger)));
    }
    const service = new MwiService({ boxes, counter: new ImapCounter(pool), out: deps.out, notifiers, logger, debounceMs: cfg.mwiDebounce });
    if (cfg.externnotify) {
        const extern = new ExternNotifier(cfg.externnotify, logger);
        service.observe((box, counts) => extern.observe(box, counts));
    }
    const resync = new Resync(boxes, service, { intervalMs: cfg.mwiResync, ratePerSec: cfg.mwiResyncRate, logger });
    let converger: Converger | undefined;
    if (ami && amiNotifier && cfg.mwiConverge > 0) {
        const notifier = amiNotifier;
        const c = (converger = new Converger({
            boxes,
            service,
            correct: (box, counts) => notifier.notify(box, counts),
            logger,
            settleMs: cfg.mwiConverge,
            maxCorrections: cfg.mwiCorrections
        }));
        ami.onEvent(m => c.onEvent(m));
    }
    let started = false;
    // Asterisk may have restarted or missed updates while unreachable: push every box again. The
    // first login is covered by the start resync.
    ami?.onReady(() => {
        if (started) resync.all('AMI reconnected', PUSH);
        started = true;
    });
    return {
        trigger: new MwiTrigger(boxes, service),
        service,
        boxes,
        resync,
        ami,
        busy: () => service.busy() || resync.pending > 0 || !!converger?.busy(),
        start() {
            ami?.start();
            resync.start();
        },
        resyncAll(reason) {
            resync.all(reason, PUSH);
        },
        health: () => amiNotifier?.health(),
        async stop() {
            resync.stop();
            converger?.stop();
            service.stop();
            await Promise.all([ami?.close(), ownPool ? pool.close() : undefined]);
        }
    };
}
