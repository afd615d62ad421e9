// listen(): a SUB socket on the bus. With a user, nanomsg filters by frame prefix (`alice\t`,
// `alice\tflag\t`) before anything reaches JavaScript; types without a user are filtered here.
// With a user and a cursor (`since`) or a replay endpoint, the stream catches up and stays in seq
// order (cursor.ts); it then subscribes to all of the user's events and filters types itself,
// since seqs run over all types.
import nano from 'nanomsg';
import type { EventType } from '../events/event.js';
import type { Logger } from '../log.js';
import { decodeFrame, framePrefixes } from '../wire/frame.js';
import { DEFAULT_REPLAY, httpReplay } from './replay.js';
import { EventStream } from './stream.js';
import { nanoSource } from './receive.js';
import { defaultBus } from '../publish/bus-address.js';
import { LISTEN_RCVBUF_BYTES } from '../limits.js';

/** serve's default bus: ipc://<./var>/bus.sock (publish/bus-address.ts). */
export const DEFAULT_BUS = defaultBus();

export interface ListenOptions {
    /** The bus (serve's --publish), default ipc://./var/bus.sock resolved; several = every bridge instance. */
    connect?: string | string[];
    user?: string;
    types?: EventType[];
    signal?: AbortSignal;
    /** Resume after this seq (needs user): missed events are replayed first. */
    since?: number;
    /** The bridge's replay endpoint (serve --replay), default http://127.0.0.1:8026 when since is given. */
    replay?: string;
    /** The replay endpoint's token (serve --replay-token or <state-dir>/replay.token). */
    replayToken?: string;
    /** How long a seq gap may stay open before it is filled by a replay (default 1 s). */
    gapWaitMs?: number;
    /** While quiet, how often to ask the journal whether anything was missed (default 30 s). */
    checkMs?: number;
    logger?: Logger;
}

/** Throws at once when the socket cannot be set up (e.g. a malformed URL). */
export function listen(opts: ListenOptions = {}): EventStream {
    const urls = [opts.connect ?? DEFAULT_BUS].flat();
    const types = opts.types?.length ? opts.types : undefined;
    if (opts.since !== undefined && !opts.user) throw new Error('since needs a user: seqs are per user');
    const user = opts.user;
    const catchUp = user !== undefined && (opts.since !== undefined || opts.replay !== undefined);
    const prefixes = framePrefixes(user, catchUp ? undefined : types);
    const sock = nano.socket('sub', { chan: prefixes.length ? prefixes : [''], rcvbuf: LISTEN_RCVBUF_BYTES });
    let failure: Error | undefined;
    sock.on('error', err => (failure ??= err));
    for (const url of urls) {
        if (sock.connect(url) === null) {
            sock.close();
            throw new Error(`cannot connect to ${url}: ${failure?.message ?? 'invalid address'}`);
        }
    }
    const stream = new EventStream(
        nanoSource(sock),
        frame => {
            const ev = decodeFrame(frame);
            return ev && (catchUp || !types || types.includes(ev.type)) && (!user || ev.user === user) ? ev : null;
        },
        {
            signal: opts.signal,
            cursor: catchUp
                ? {
                      user,
                      since: opts.since,
                      types,
                      gapWaitMs: opts.gapWaitMs,
                      checkMs: opts.checkMs,
                      logger: opts.logger,
                      replay: httpReplay(opts.replay ?? DEFAULT_REPLAY, user, opts.replayToken)
                  }
                : undefined
        }
    );
    if (stream.gate) stream.ready = stream.gate.start();
    return stream;
}
