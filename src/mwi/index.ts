// Assembles the MWI stage from configuration: boxes, pooled IMAP counting, the recount service,
// the trigger the bridge feeds events to, AMI/externnotify notifiers and the optional resync.
import { ConfigError } from '../config.js';
import type { EventSink } from '../events/sink.js';
import type { Logger } from '../log.js';
import { AmiClient } from './ami.js';
import { AmiNotifier } from './ami-notifier.js';
import { BoxDirectory } from './boxes.js';
import type { MwiConfig } from './config.js';
import { ImapCounter } from './count.js';
import { ExternNotifier } from './externnotify.js';
import { ImapPool } from './imap-pool.js';
import { MwiService, type MwiNotifier } from './recount.js';
import { Resync } from './resync.js';
import { MwiTrigger } from './trigger.js';
import { readVoicemailConf } from './voicemail-conf.js';

export interface Mwi {
    /** Feed every event here (after enrichment); it never blocks. */
    trigger: EventSink;
    service: MwiService;
    boxes: BoxDirectory;
    start(): void;
    stop(): Promise<void>;
}

/** Undefined without --imap: there is nothing to count with. */
export function createMwi(cfg: MwiConfig, deps: { out: EventSink; logger: Logger }): Mwi | undefined {
    if (!cfg.imap) return undefined;
    const logger = deps.logger.child({ stage: 'mwi' });
    let boxes: BoxDirectory;
    try {
        boxes = new BoxDirectory(cfg.voicemailConf ? readVoicemailConf(cfg.voicemailConf) : undefined);
    } catch (err) {
        throw new ConfigError(`invalid option --voicemail-conf: ${(err as Error).message}`);
    }
    let pool: ImapPool;
    try {
        pool = new ImapPool(cfg.imap, { logger, separator: cfg.imapMasterSeparator });
    } catch (err) {
        throw new ConfigError(`invalid option --imap: ${(err as Error).message}`);
    }
    const notifiers: MwiNotifier[] = [];
    let ami: AmiClient | undefined;
    if (cfg.ami) {
        try {
            ami = new AmiClient(cfg.ami, { logger });
        } catch (err) {
            throw new ConfigError(`invalid option --ami: ${(err as Error).message}`);
        }
        notifiers.push(new AmiNotifier(ami, cfg.amiMode, logger));
    }
    if (cfg.externnotify) notifiers.push(new ExternNotifier(cfg.externnotify, logger));
    const service = new MwiService({ boxes, counter: new ImapCounter(pool), out: deps.out, notifiers, logger, debounceMs: cfg.mwiDebounce });
    const resync = new Resync(boxes, service, cfg.mwiResync);
    return {
        trigger: new MwiTrigger(boxes, service),
        service,
        boxes,
        start() {
            ami?.start();
            resync.start();
        },
        async stop() {
            resync.stop();
            service.stop();
            await Promise.all([ami?.close(), pool.close()]);
        }
    };
}
