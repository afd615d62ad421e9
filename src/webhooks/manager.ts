// All webhook endpoints of a bridge: the site-wide ones from the configuration and the per-user
// ones from the store (kept in step when the API creates or deletes one). It is a sink after the
// event front, so it sees every event once it is sequenced and journaled.
import type { VmEvent } from '../events/event.js';
import type { EventSink } from '../events/sink.js';
import type { Logger } from '../log.js';
import { WEBHOOK_LIMITS, WEBHOOK_SYNC_MS } from '../limits.js';
import { openStateDb, type StateDb } from '../state/db.js';
import { useWebhookStore } from './api.js';
import { WebhookCursors } from './cursors.js';
import { WebhookEndpoint, type JournalReader, type WebhookTarget } from './endpoint.js';
import { WebhookStore } from './store.js';
import { oxPayload } from './ox.js';
import type { ImapPool } from '../imap/pool.js';

export interface WebhooksOptions {
    stateDir: string;
    site: WebhookTarget[];
    allowPrivate: boolean;
    read: JournalReader;
    logger?: Logger;
    /** For the ox format's from/subject/unseen. */
    imap?: () => ImapPool | undefined;
}

export class Webhooks implements EventSink {
    private readonly db: StateDb;
    private readonly cursors: WebhookCursors;
    readonly store: WebhookStore;
    private readonly endpoints = new Map<string, WebhookEndpoint>();
    private timer?: NodeJS.Timeout;

    constructor(private readonly opts: WebhooksOptions) {
        this.db = openStateDb(opts.stateDir);
        this.cursors = new WebhookCursors(this.db);
        this.store = new WebhookStore(this.db, { allowPrivate: opts.allowPrivate }, () => this.sync());
    }

    start(): void {
        useWebhookStore(this.store);
        this.sync();
        // The admin CLI edits state.db from another process: pick up its changes.
        this.timer = setInterval(() => this.sync(), WEBHOOK_SYNC_MS).unref();
    }

    emit(ev: VmEvent): void {
        for (const ep of this.endpoints.values()) ep.emit(ev);
    }

    /** Starts endpoints that appeared, stops those removed. */
    sync(): void {
        const targets = new Map([...this.opts.site, ...this.store.targets()].map(t => [t.id, t]));
        for (const [id, ep] of this.endpoints) {
            if (targets.has(id)) continue;
            ep.stop();
            this.endpoints.delete(id);
        }
        for (const [id, t] of targets) {
            const known = this.endpoints.get(id);
            if (known) {
                known.resume(); // re-enabled by the CLI: carry on from the cursor
                continue;
            }
            const ep = new WebhookEndpoint(t, this.opts.read, this.cursors, { limits: WEBHOOK_LIMITS, logger: this.opts.logger, ox: ev => oxPayload(ev, this.opts.imap?.()) });
            this.endpoints.set(id, ep);
            ep.start();
        }
    }

    stop(): void {
        clearInterval(this.timer);
        for (const ep of this.endpoints.values()) ep.stop();
        this.endpoints.clear();
        useWebhookStore(undefined);
        this.db.close();
    }
}
