// The event front the bridge puts before its publishers (was "Catchup"): every event entering
// `bridge.events` is coalesced per user, given its seq, journaled, and only then handed to the
// sinks added here (bus, pusher, …). It also serves replays (`--replay host:port`, optional,
// authenticated with --replay-token or the token generated in <state-dir>/replay.token, 0640 so
// the vmbridge group's `listen` can read it).
import { chmodSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { DEFAULTS, type Config } from '../config.js';
import type { VmEvent } from '../events/event.js';
import { Fanout } from '../events/fanout.js';
import type { EventSink } from '../events/sink.js';
import type { Logger } from '../log.js';
import { createMemcachedClient, type MemcachedClient } from '../memcached/client.js';
import { Coalescer } from './coalesce.js';
import { replay, type JournalStore, type MwiProvider } from './journal.js';
import { MemcachedJournal } from './journal-memcached.js';
import { SqliteJournal } from './journal-sqlite.js';
import { REPLAY_TOKEN_FILE } from './bus-address.js';
import { loadOrCreateToken } from '../state/token.js';
import { ReplayServer } from './replay-server.js';
import { Sequencer } from './sequencer.js';
import { JOURNAL_TIMEOUT_MS } from '../limits.js';

export type EventFrontConfig = Pick<Config, 'resolver' | 'journalRetention' | 'journalMax' | 'coalesceWindow' | 'coalesceMaxHold' | 'replay'> &
    Partial<Pick<Config, 'stateDir' | 'journalMaxTotal' | 'replayToken' | 'replayAccess' | 'replayMax'>>;

/** The journal follows the resolver: `memory` in the state directory, anything else in that memcached. */
export function createJournalStore(config: EventFrontConfig, log?: Logger): JournalStore {
    const limits = { retentionSec: config.journalRetention, maxCount: config.journalMax };
    if (config.resolver.kind === 'memory') {
        const journal = new SqliteJournal(config.stateDir ?? DEFAULTS.stateDir, { ...limits, maxTotal: config.journalMaxTotal });
        if (journal.jumpedTo) {
            log?.warn(
                { seq: journal.jumpedTo },
                'journal: the last stop was unclean and the machine has rebooted since; every seq continues above this, replaying cursors get a reset'
            );
        }
        return journal;
    }
    // 1 s: a loaded event loop must not turn a fine memcached into unsequenced events; during an
    // outage only the first batch waits that long (the sequencer then stops asking for a while).
    return new MemcachedJournal(createMemcachedClient(config.resolver, { logger: log, timeoutMs: JOURNAL_TIMEOUT_MS }), { ...limits, timeoutMs: JOURNAL_TIMEOUT_MS });
}

export class EventFront implements EventSink {
    /** Set by the MWI stage: the user's current mwi events, sent after a reset. */
    currentMwi?: MwiProvider;
    private readonly out: Fanout;
    private readonly store: JournalStore;
    private readonly sequencer: Sequencer;
    private readonly coalescer: Coalescer;
    private readonly server?: ReplayServer;

    constructor(
        private readonly config: EventFrontConfig,
        log: Logger
    ) {
        this.out = new Fanout(log);
        this.store = createJournalStore(config, log);
        this.sequencer = new Sequencer(this.store, this.out, { logger: log });
        this.coalescer = new Coalescer({ windowMs: config.coalesceWindow, maxHoldMs: config.coalesceMaxHold }, (user, evs) => this.sequencer.push(user, evs));
        if (config.replay) {
            const token = replayToken(config);
            this.server = new ReplayServer({ listen: config.replay, token, access: config.replayAccess, maxEvents: config.replayMax, logger: log }, (user, since, limit) =>
                this.replay(user, since, limit)
            );
        }
    }

    /** With one memcached server: the journal's client, for the resolver to share (it closes it
     * then). The pusher's lookup of a user's endpoints then goes out right behind the INCR that
     * numbers their events, on the same connection, instead of after its answer: memcached answers
     * a connection's requests in order, so the lookup still sees every subscriber whose stream
     * expects those seqs (subscribe() registers, then anchors at the newest seq). */
    shareMemcached(): MemcachedClient | undefined {
        if (!(this.store instanceof MemcachedJournal) || this.config.resolver.kind !== 'memcached' || this.config.resolver.servers.length !== 1) return undefined;
        this.sequencer.prepareOnSend = true;
        return this.store.handOver();
    }

    /** Adds a publisher after the stage (same as Fanout.add). */
    add(sink: EventSink): this {
        this.out.add(sink);
        return this;
    }

    emit(ev: VmEvent): void {
        this.coalescer.emit(ev);
    }

    replay(user: string, since: number, limit?: number): Promise<VmEvent[]> {
        return replay(this.store, user, since, this.currentMwi, limit);
    }

    /** Binds the replay endpoint when configured; rejects when it cannot. */
    async start(): Promise<AddressInfo | undefined> {
        return this.server?.listen();
    }

    /** Hands on everything held or in flight, then closes the endpoint and the store. */
    async stop(): Promise<void> {
        this.coalescer.flushAll();
        await this.sequencer.idle();
        await this.server?.close();
        await this.store.close();
    }
}

/** --replay-token, else the one generated once in <state-dir>/replay.token (mode 0640). */
export function replayToken(config: Pick<EventFrontConfig, 'replayToken' | 'stateDir'>): string {
    if (config.replayToken) return config.replayToken;
    const file = path.join(config.stateDir ?? DEFAULTS.stateDir, REPLAY_TOKEN_FILE);
    const token = loadOrCreateToken({ ingestTokenFile: file });
    chmodSync(file, 0o640);
    return token;
}
