// subscribe(): bind a PULL socket, register it in memcached for a user (refreshed while the
// stream is open, removed when it closes) and yield the JSON v1 events vmbridge pushes to it.
// The stream keeps seq order and catches up from the memcached journal (cursor.ts): after a
// restart pass `since: <previous stream.cursor>` and the missed events come first. Seqs run over
// all of a user's types, so it registers for every type and filters `types` itself.
import nano, { type Socket } from 'nanomsg';
import type { EventType } from '../events/event.js';
import type { Logger } from '../log.js';
import { createMemcachedClient } from '../memcached/client.js';
import { parseMemcachedResolver } from '../config.js';
import { Registration } from '../resolve/subscriptions.js';
import { decodeEvent } from '../wire/json.js';
import { memcachedReplay } from './replay.js';
import { EventStream } from './stream.js';
import { nanoSource } from './receive.js';
import { SpPull } from './sp-pull.js';
import { spAddress } from '../wire/sp.js';
import { SUBSCRIPTION_OP_TIMEOUT_MS } from '../limits.js';

export interface SubscribeOptions {
    /** libmemcached configuration string, default --SERVER=127.0.0.1:11211. */
    resolver?: string;
    user: string;
    /** nanomsg URL to bind the PULL socket on, e.g. tcp://127.0.0.1:5557. */
    bind: string;
    /** The URL vmbridge should connect to, when bind uses a wildcard host (default: bind). */
    advertise?: string;
    types?: EventType[];
    /** Registration TTL in seconds (default 30), refreshed every third of it. */
    ttlSec?: number;
    signal?: AbortSignal;
    logger?: Logger;
    /** Resume after this seq: missed events (from the journal) come first. */
    since?: number;
    /** How long a seq gap may stay open before it is filled from the journal (default 1 s). */
    gapWaitMs?: number;
    /** While quiet, how often to ask the journal whether anything was missed (default 30 s). */
    checkMs?: number;
    /** serve's --journal-max, if changed: an older cursor gets a reset. */
    journalMax?: number;
    /** Events waiting for a slow consumer; past it the oldest go, behind a reset (default 10 000). */
    limit?: number;
}

export function subscribe(opts: SubscribeOptions): EventStream {
    const resolver = parseMemcachedResolver(opts.resolver); // serve's parser; default: the local memcached
    if (resolver.kind === 'memory') {
        throw new Error('subscribe needs a memcached resolver (--SERVER=host:port): the memory resolver lives inside serve; use listen for the bus');
    }
    if (opts.signal?.aborted) throw new Error('subscribe aborted before it started');
    const advertise = opts.advertise ?? opts.bind;
    if (/^(tcp|ws):\/\/(\*|0\.0\.0\.0|\[::\])[:/]/.test(advertise)) {
        throw new Error(`${advertise} is not an address vmbridge can connect to: give advertise (--advertise) a concrete host`);
    }
    // tcp://<ip>:<port> and ipc://: our own PULL, bound before the registration (a bind error
    // rejects `ready`); other urls: nanomsg's, bound here (an error throws at once).
    const address = spAddress(opts.bind);
    const pull = address && new SpPull(address);
    const source = pull ?? nanoSource(bindNano(opts.bind));
    const client = createMemcachedClient(resolver, { logger: opts.logger, timeoutMs: SUBSCRIPTION_OP_TIMEOUT_MS });
    const reg = new Registration(client, { user: opts.user, url: advertise, ttlSec: opts.ttlSec, logger: opts.logger });
    const types = opts.types?.length ? opts.types : undefined;
    let started: Promise<void> = Promise.resolve();
    const stream = new EventStream(source, frame => decodeEvent(frame.toString('utf8')), {
        signal: opts.signal,
        limit: opts.limit,
        cursor: {
            user: opts.user,
            since: opts.since,
            types,
            gapWaitMs: opts.gapWaitMs,
            checkMs: opts.checkMs,
            logger: opts.logger,
            replay: memcachedReplay(client, opts.user, opts.journalMax)
        },
        cleanup: async () => {
            try {
                await started.catch(() => undefined); // a registration still in flight must not outlive us
                await reg.stop(true);
            } catch (err) {
                opts.logger?.warn({ err }, 'could not remove the subscription; it expires with its TTL');
            } finally {
                client.close();
            }
        }
    });
    started = (pull ? pull.listen().catch(err => Promise.reject(new Error(`cannot bind ${opts.bind}: ${(err as Error).message}`))) : Promise.resolve())
        .then(() => reg.start())
        .then(() => stream.gate?.start());
    stream.ready = started.catch(err => {
        stream.fail(err);
        throw err;
    });
    // ready's rejection is also delivered through iteration; avoid an unhandled rejection.
    stream.ready.catch(() => undefined);
    return stream;
}

/** nanomsg's PULL bound at url; throws at once when it cannot be. */
function bindNano(url: string): Socket {
    const sock = nano.socket('pull');
    let failure: Error | undefined;
    sock.on('error', err => (failure ??= err));
    if (sock.bind(url) === null) {
        sock.close();
        throw new Error(`cannot bind ${url}: ${failure?.message ?? 'invalid address'}`);
    }
    return sock;
}
