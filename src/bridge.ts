// Wires the stages: intake → deliver → (delivery records) → events → bus / push / mwi.
// start() binds everything or throws (the CLI exits 69); Dovecot, memcached or Asterisk being
// down never stops it — those are reached lazily and their failures are per message.
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { AdminServer } from './admin/server.js';
import { camelToFlag, type Config } from './config.js';
import { createDeliverer } from './deliver/index.js';
import type { Deliverer } from './deliver/deliverer.js';
import { EventFront } from './publish/front.js';
import { Correlator } from './events/correlate.js';
import { HeaderFetcher } from './events/header-fetch.js';
import { createSharedJoin, type SharedJoin } from './events/join-share.js';
import { createIndex, type IndexStore } from './events/index-store.js';
import { IngestServer } from './hook/ingest.js';
import { loadOrCreateToken } from './state/token.js';
import { createImapPool, type ImapPool } from './imap/pool.js';
import { FolderNames } from './publish/folders.js';
import { UidLookup } from './publish/uid-lookup.js';
import { IntakeServer } from './intake/server.js';
import { wiring } from './wiring.js';
import { needsRestart, RELOADED_ON_SIGHUP } from './reload-scope.js';
import type { Logger } from './log.js';
import { Bus } from './publish/bus.js';
import { busUrl } from './publish/bus-address.js';
import { Pusher } from './publish/push.js';
import { createResolver, type Resolver } from './resolve/resolver.js';
import { createMwi, type Mwi } from './mwi/index.js';
import { MEMCACHED_TIMEOUT_MS } from './limits.js';
import { createClientListener, type ClientListener } from './http/index.js';
import { Readiness } from './admin/readiness.js';
import { registerHookSilence, registerImapSessions, registerStateBytes, registerSubscribers } from './metrics.js';
import { statSync } from 'node:fs';
import path from 'node:path';
import { Webhooks } from './webhooks/manager.js';
import { siteWebhooks } from './webhooks/config.js';

export interface BridgeAddresses {
    lmtp: string;
    smtp?: string;
    publish: string;
    ingest: string;
    admin?: string;
    replay?: string;
    http?: string;
}

export class Bridge {
    readonly events: EventFront;
    private readonly deliverer: Deliverer;
    private readonly bus: Bus;
    private readonly intakes: IntakeServer[] = [];
    private resolver?: Resolver;
    private pusher?: Pusher;
    private readonly admin?: AdminServer;
    private readonly mwi?: Mwi;
    private readonly correlator: Correlator;
    private readonly ingest: IngestServer;
    private readonly index: IndexStore;
    private readonly sharedJoin?: SharedJoin;
    private readonly imap?: ImapPool;
    private readonly folders: FolderNames;
    private readonly clients?: ClientListener;
    private readonly readiness: Readiness;
    /** unregisters the scrape-time gauges this bridge feeds (several bridges may share the registry in tests) */
    private readonly gauges: (() => void)[] = [];
    /** Webhooks: site-wide ones, and per-user ones in state.db (embedded state only). */
    readonly webhooks?: Webhooks;

    constructor(
        private readonly config: Config,
        private readonly log: Logger,
        /** onNativeDriver: Dovecot's native driver proved its key (serve's `--nice auto`, commands/priority.ts). */
        private readonly opts: { onNativeDriver?: () => void } = {}
    ) {
        this.events = new EventFront(config, log); // seq + journal + coalescing, before every publisher
        this.deliverer = createDeliverer(config.deliver, { timeoutMs: config.deliverTimeout, logger: log, dataDoneTimeoutMs: config.deliverDataDoneTimeout });
        this.bus = new Bus(busUrl(config), log);
        this.events.add(this.bus);
        const site = siteWebhooks(config);
        if (site.length || config.resolver.kind === 'memory') {
            this.webhooks = new Webhooks({
                stateDir: config.stateDir,
                site,
                allowPrivate: config.webhookAllowPrivate,
                read: (u, since, limit) => this.events.replay(u, since, limit),
                logger: log,
                imap: () => this.imap
            });
            this.events.add(this.webhooks);
        }
        // Dovecot's hook → ingest → correlator (moves, the uid of our own deliveries, uid index).
        this.index = createIndex(config.resolver, log, config.stateDir);
        this.sharedJoin = createSharedJoin(config.resolver, log);
        if (config.imap) this.imap = createImapPool(config.imap, config.imapMasterSeparator, log); // one pool: MWI, headers, uids, folders
        this.folders = new FolderNames({ imap: this.imap, logger: log }); // OpenChange folder/separator, from Dovecot
        this.correlator = new Correlator({
            out: this.events,
            index: this.index,
            fetcher: this.imap && new HeaderFetcher(this.imap, log),
            logger: log,
            hook: config.hook,
            shared: this.sharedJoin,
            joinWaitMs: config.hookJoinWindow,
            onGap: user => this.resync(user)
        });
        const observer = this.correlator;
        this.ingest = new IngestServer({
            listen: config.ingest,
            token: loadOrCreateToken(config),
            maxBody: config.ingestMaxBody,
            access: config.ingestAccess,
            logger: log,
            onBatch: batch => {
                this.folders.learn(batch); // before the correlator emits the batch's newmail events
                this.correlator.onBatch(batch);
            },
            onHello: shared => {
                this.correlator.hookHeard();
                if (shared) this.opts.onNativeDriver?.();
            },
            onStreamEnd: proc => this.correlator.procEnded(proc), // per-proc state ends with its stream
            onLost: user => this.resync(user)
        });
        const common = { deliverer: this.deliverer, observer, config, logger: log, hostname: hostname() };
        this.intakes.push(new IntakeServer({ ...common, listen: config.lmtp, lmtp: true }));
        if (config.smtp) this.intakes.push(new IntakeServer({ ...common, listen: config.smtp, lmtp: false }));
        // MWI recounts are triggered by every event and publish their own `mwi` events back in.
        this.mwi = createMwi(config, { out: this.events, logger: log, imap: this.imap });
        if (this.mwi) {
            this.events.add(this.mwi.trigger);
            const service = this.mwi.service;
            this.events.currentMwi = user => service.current(user); // counts sent after a `reset`
        }
        // Apps' own authenticated streams (--http): src/http/.
        this.clients = createClientListener(config, this.events, user => this.mwi?.service.current(user) ?? [], log);
        this.readiness = new Readiness({
            accepting: () => this.intakes.every(i => i.accepting),
            deliver: config.deliver,
            imap: this.imap && (() => ({ ...this.imap!.stats(), lastError: this.imap!.lastError })),
            ami: this.mwi && (() => this.mwi?.health()),
            memcached: config.resolver.kind === 'memory' ? undefined : config.resolver.servers,
            hookLastHeard: () => this.correlator.lastHeard
        });
        this.gauges.push(
            registerHookSilence('ingest', () => (this.correlator.lastHeard === undefined ? -1 : (Date.now() - this.correlator.lastHeard) / 1000)),
            registerSubscribers('push', () => this.pusher?.endpointCount ?? 0),
            registerSubscribers('http', () => this.clients?.hub.clients ?? 0), // SSE and WebSocket streams of --http
            registerImapSessions('busy', () => this.imap?.stats().busy ?? 0),
            registerImapSessions('idle', () => this.imap?.stats().idle ?? 0),
            ...['state.db', 'state.db-wal', 'index.db', 'index.db-wal'].map(f => registerStateBytes(f, () => fileBytes(path.join(config.stateDir, f))))
        );
        if (config.admin) this.admin = new AdminServer({ listen: config.admin, logger: log, health: () => this.readiness.check() });
    }

    async start(): Promise<BridgeAddresses> {
        await this.bus.start();
        const config = this.config;
        // One memcached server: the resolver shares the journal's connection (see shareMemcached).
        const client = this.events.shareMemcached();
        this.resolver = await createResolver(config.resolver, { cn: config.resolverCn, logger: this.log, timeoutMs: MEMCACHED_TIMEOUT_MS, client });
        const uids = this.imap && new UidLookup(this.imap, { logger: this.log });
        this.pusher = new Pusher({ resolver: this.resolver, backend: config.backend, folders: this.folders, uids, logger: this.log });
        this.events.add(this.pusher);
        const ingest = await this.ingest.listen();
        const [lmtp, smtp] = await Promise.all(this.intakes.map(i => i.listen()));
        const admin = await this.admin?.listen();
        const replay = await this.events.start();
        const http = await this.clients?.server.listen();
        this.webhooks?.start();
        this.mwi?.start();
        const addrs: BridgeAddresses = {
            lmtp: fmt(lmtp),
            smtp: smtp && fmt(smtp as AddressInfo),
            publish: busUrl(this.config),
            ingest,
            admin: admin && fmt(admin),
            replay: replay && fmt(replay),
            http: http && fmt(http)
        };
        this.log.info({ ...addrs, ...wiring(this.config) }, 'vmbridge ready');
        return addrs;
    }

    /** Stops accepting, lets in-flight transactions finish, then closes downstream and sockets. */
    async stop(): Promise<void> {
        await Promise.all(this.intakes.map(i => i.close()));
        await this.deliverer.close();
        // Dovecot's reports of the last copies: a short wait, bounded however long the join window is.
        await this.correlator.settle(Math.min(this.config.hookJoinWindow, STOP_SETTLE_MS));
        await this.ingest.close();
        await this.correlator.close(); // anything still held goes out before the publishers stop
        await this.mwi?.stop();
        await Promise.all([this.index.close(), this.imap?.close(), this.sharedJoin?.close()]);
        this.webhooks?.stop(); // cursors are kept: what follows is delivered after the restart
        await this.events.stop(); // hands on held events before the publishers close
        await this.clients?.server.close(); // after the front: connected apps get the last events too
        this.clients?.tokens.close();
        await this.pusher?.close();
        await this.resolver?.close();
        await this.bus.stop(); // after a short linger: the last events still reach subscribers
        await this.admin?.close(); // last: /healthz says 503 while draining
        this.readiness.close();
        for (const u of this.gauges) u();
    }

    /** Dovecot's events for this user were lost (hook batches missing): recount their boxes. */
    private resync(user: string): void {
        this.mwi?.service.request(
            this.mwi.boxes.all().filter(b => b.user === user),
            true
        );
    }

    /** Recount every known box (paced) and push the counts: for the event side after the hook's connection came back or any outage. */
    resyncAll(reason: string): void {
        this.mwi?.resyncAll(reason);
    }

    /** SIGHUP: access lists, limits and TLS certificates (a bad new setting keeps the old one). */
    reload(config: Config): void {
        for (const i of this.intakes) i.reload(config);
        this.log.level = config.logLevel;
        const restart = needsRestart(this.config, config);
        this.log.info(
            { reloaded: RELOADED_ON_SIGHUP.map(k => '--' + camelToFlag(k)), ...(restart.length && { needsRestart: restart }) },
            restart.length ? 'SIGHUP: reloaded; changed options that need a restart were NOT applied' : 'SIGHUP: reloaded'
        );
    }
}

/** Longest a stop waits for Dovecot to report copies just stored before emitting them without. */
const STOP_SETTLE_MS = 2000;

function fmt(a: AddressInfo | string): string {
    if (typeof a === 'string') return `unix:${a}`;
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** Size of a file, 0 when absent (a state directory not yet used, a WAL checkpointed away). */
function fileBytes(file: string): number {
    try {
        return statSync(file).size;
    } catch {
        return 0;
    }
}
