// Named limits and tunables (WildDuck's lib/consts.js is the model): one line each with the reason.
// Operator-facing values are options in config.ts; these are the ones nobody should need to change.

/** a memcached outage logs once per interval, not once per lookup */
export const RESOLVER_LOG_INTERVAL_MS = 30_000;
/** subscribe/unsubscribe are interactive: a second is enough for a loopback memcached */
export const SUBSCRIPTION_OP_TIMEOUT_MS = 1000;
/** a voicemail has a handful of parts; more is not worth classifying */
export const MIME_MAX_PARTS = 64;
/** nesting bomb guard: real mail nests 2-3 deep */
export const MIME_MAX_DEPTH = 8;
/** a part header larger than this is not a header the classifier needs */
export const MIME_MAX_PART_HEADER = 16 * 1024;
/** the top-level header is buffered to classify; past this the message streams unclassified */
export const MAX_HEADER_BYTES = 256 * 1024;
/** remembered uids per bridge: bounded memory, covers minutes of deliveries */
export const UID_LOOKUP_SENT_MAX = 20_000;
/** keys per memcached multi-get while replaying */
export const JOURNAL_READ_CHUNK = 500;
/** a journal tail still being written is read again after this, then 4× as long each time */
export const JOURNAL_TAIL_POLL_MS = 2;
/** events per transaction: a long batch yields to the event loop between slices */
export const JOURNAL_SLICE = 1000;
/** expired journal rows are deleted once a minute */
export const JOURNAL_SWEEP_MS = 60_000;
/** users whose last seq is cached in memory */
export const JOURNAL_CACHE_USERS = 100_000;
/** a replay request that has not finished by then is cut */
export const REPLAY_TIMEOUT_MS = 10_000;
/** replay clients at once: catch-up is rare, never a flood */
export const REPLAY_MAX_CONNECTIONS = 64;
/** per-user sequencer state kept in memory at most */
export const SEQUENCER_USERS_LIMIT = 100_000;
/** a journal outage logs once per interval */
export const SEQUENCER_LOG_INTERVAL_MS = 30_000;
/** events emitted per turn of the event loop */
export const SEQUENCER_EMIT_SLICE = 1000;
/** a loaded event loop must not turn a fine memcached into unsequenced events */
export const JOURNAL_TIMEOUT_MS = 1000;
/** folder names remembered per bridge */
export const FOLDER_CACHE_MAX = 50_000;
/** a shared-join mark outlives any hook delay, then expires */
export const SHARED_JOIN_TTL_SEC = 600;
/** expired uid index rows are deleted once a minute */
export const INDEX_SWEEP_MS = 60_000;
/** synchronous lookups per turn, so a 70,000-event batch does not hold the loop */
export const INDEX_PACE = 256;
/** tmp/ files older than this are a crashed writer's (maildir convention: 36 h) */
export const MAILDIR_TMP_STALE_MS = 36 * 3600 * 1000;
/** event ids remembered to drop duplicates across replay and live */
export const CURSOR_RECENT_IDS = 1024;
/** a replay page that takes longer is retried by the caller */
export const REPLAY_CLIENT_TIMEOUT_MS = 10_000;
/** connections past the cap that still get a "421 too many" before Node drops them silently */
export const REFUSAL_ROOM = 32;
/** memcached answers a loopback get in well under a millisecond; a caller waits no longer than this */
export const MEMCACHED_TIMEOUT_MS = 250;
/** uid index entries live as long as memcached's longest relative TTL (30 days) */
export const UID_INDEX_TTL_SEC = 30 * 86400;
/** LMTP connections to Dovecot at once: its lmtp process_limit is usually far higher */
export const LMTP_POOL_MAX = 16;
/** an idle LMTP connection is kept this long for the next delivery (Dovecot closes after 5 min) */
export const LMTP_IDLE_MS = 30_000;
/** body chunks to Dovecot smaller than this wait for the loop turn's others (one send); larger ones leave at once, so a big body streams instead of piling up behind the cork */
export const LMTP_CORK_MAX = 16 * 1024;
/** BDAT chunks to Dovecot are at least this large (but the last): a body read in small pieces must not cost a command and a reply per piece; bench/README (BDAT) */
export const BDAT_CHUNK_MIN = 64 * 1024;
/** IMAP master-user sessions at once: enough for recount bursts without crowding Dovecot */
export const IMAP_POOL_MAX = 8;
/** an idle IMAP session is kept this long (a recount on a warm session skips the login) */
export const IMAP_IDLE_MS = 60_000;
/** one IMAP command may take this long before the session is dropped */
export const IMAP_TIMEOUT_MS = 10_000;
/** AMI reconnect backoff starts here and doubles */
export const AMI_BACKOFF_MIN_MS = 500;
/** AMI reconnect backoff stops doubling here */
export const AMI_BACKOFF_MAX_MS = 30_000;
/** one AMI action waits this long for its response */
export const AMI_TIMEOUT_MS = 10_000;
/** push: frames queued per endpoint before the oldest are dropped behind a gap */
export const PUSH_QUEUE_LIMIT = 1000;
/** push: a send that does not complete in this time counts as a stall */
export const PUSH_SEND_TIMEOUT_MS = 200;
/** push: an endpoint socket unused this long is closed */
export const PUSH_IDLE_MS = 60_000;
/** push: reconnect backoff to an unreachable endpoint, first step */
export const PUSH_BACKOFF_MIN_MS = 1000;
/** push: reconnect backoff ceiling */
export const PUSH_BACKOFF_MAX_MS = 60_000;
/** client listener: failed sign-ins per address (a burst for typos, then one every 6 s) */
export const HTTP_AUTH_FAILURES_PER_IP = { perSecond: 1 / 6, burst: 10 };
/** client listener: failed sign-ins per user, whatever the address (slows a distributed guess) */
export const HTTP_AUTH_FAILURES_PER_USER = { perSecond: 1 / 6, burst: 5 };
/** client listener: a client that has not sent its headers by then is cut (before authentication) */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
/** client listener: connections at once, and from one address (streams stay open) */
export const HTTP_MAX_CONNECTIONS = 5000;
export const HTTP_MAX_CONNECTIONS_PER_IP = 1100;
/** client listener: request bodies (a WebSocket's first message included) are tiny */
export const HTTP_MAX_BODY = 4096;
/** client listener: comment line on idle streams so proxies and clients see the stream is alive */
export const HTTP_HEARTBEAT_MS = 25_000;
/** client listener: events waiting for one slow client; past this it gets `reset` and is closed */
export const HTTP_CLIENT_BUFFER = 1000;
/** client listener: bytes unsent to one client past which it counts as slow */
export const HTTP_CLIENT_MAX_BUFFERED = 1024 * 1024;
/** health: a dependency is probed at most this often, however often /readyz is asked */
export const HEALTH_PROBE_EVERY_MS = 2000;
/** health: a probe (and a /readyz waiting for it) gives up after this, so health never hangs on a slow dependency */
export const HEALTH_PROBE_TIMEOUT_MS = 1500;
/** status page: warn/error log entries kept for "recent errors" */
export const RECENT_ERRORS_MAX = 50;
/** health: an IMAP login failure this recent makes /readyz `degraded` (the pool logs in only on demand, so no later success may clear it) */
export const IMAP_ERROR_RECENT_MS = 5 * 60_000;
/** doctor: each connection or answer a check waits for (a healthy service answers in milliseconds) */
export const DOCTOR_TIMEOUT_MS = 5_000;

/** webhooks: the defaults of WebhookLimits (src/webhooks/endpoint.ts) */
export const WEBHOOK_LIMITS = {
    /** events per POST: a receiver parses one batch in well under its timeout */
    batchMax: 100,
    /** a receiver that has not answered in this time counts as failed (Stripe allows ~10-30 s) */
    timeoutMs: 10_000,
    /** retry back-off: 1 s doubling to 10 min, full jitter */
    backoff: { baseMs: 1000, maxMs: 600_000 },
    /** disabled after this many consecutive failures (at the ceiling: ~a day of retries) … */
    disableAfterFailures: 150,
    /** … or 24 h without a success, whichever comes first */
    disableAfterMs: 24 * 3600_000
};
/** webhooks: a running serve re-reads per-user webhooks and disabled/enabled state this often (CLI changes) */
export const WEBHOOK_SYNC_MS = 5000;
/** `vmbridge resolve`: an interactive lookup may wait longer than the bridge's own (a remote memcached) */
export const RESOLVE_COMMAND_TIMEOUT_MS = 2000;

// Tunables that were inline literals (issue 18): the same values, named here with their reason.
/** admin listener: a scrape or status request that has not finished by then is cut */
export const ADMIN_REQUEST_TIMEOUT_MS = 10_000;
/** admin listener: headers must arrive by then (before anything is served) */
export const ADMIN_HEADERS_TIMEOUT_MS = 5_000;
/** health: an LMTP greeting is one short line; more without a line end is not Dovecot */
export const PROBE_GREETING_MAX_BYTES = 1024;
/** status page: a recent error's detail is cut here (enough to recognise it, no log dumps) */
export const RECENT_ERROR_DETAIL_MAX = 300;
/** rate limits: addresses or users tracked at once; the least recently seen go first */
export const RATE_LIMIT_KEYS_MAX = 10_000;
/** MWI resyncs: the pacing tick, spreading --mwi-resync-rate recounts evenly over each second */
export const MWI_RESYNC_TICK_MS = 100;
/** MWI convergence: the window the --mwi-corrections budget counts over, per box */
export const MWI_CORRECTION_WINDOW_MS = 60_000;
/** MWI convergence: disagreements remembered so each is warned about once (then the set restarts) */
export const MWI_WARNED_MAX = 10_000;
/** AMI: TCP keepalive, so a silently dropped manager connection is noticed between actions */
export const AMI_KEEPALIVE_MS = 30_000;
/** AMI: after Logoff, the socket is destroyed if Asterisk has not closed it by then */
export const AMI_LOGOFF_GRACE_MS = 1000;
/** externnotify: a script that has not exited by then is killed (Asterisk's own scripts are instant) */
export const EXTERNNOTIFY_TIMEOUT_MS = 10_000;
/** subscriptions: the shortest refresh interval, however short the TTL (a third of it otherwise) */
export const SUBSCRIPTION_REFRESH_MIN_MS = 250;
/** state.db: a writer waits this long for another connection's lock (CLI and serve share the file) */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** client listener: request headers larger than this are refused (before authentication) */
export const HTTP_MAX_HEADER_BYTES = 16 * 1024;
/** client and replay listeners: an idle keep-alive connection is closed after this (Node's default) */
export const HTTP_KEEPALIVE_MS = 5000;
/** uid lookups over IMAP (for push payloads): a search that takes longer is given up */
export const UID_LOOKUP_TIMEOUT_MS = 2000;
/** push: events per user waiting while that user's previous ones are resolved and sent; past it the oldest go */
export const PUSH_PENDING_LIMIT = 10_000;
/** push: nanomsg's own reconnect interval to an endpoint, first step */
export const PUSH_RECONNECT_MIN_MS = 100;
/** push: nanomsg's own reconnect interval ceiling */
export const PUSH_RECONNECT_MAX_MS = 5000;
/** sequencer: after a journal failure, the journal is asked again after this */
export const SEQUENCER_RETRY_MS = 1000;
/** IMAP: a session silent this long is dropped (a recount or search is far shorter) */
export const IMAP_SOCKET_TIMEOUT_MS = 5 * 60_000;
/** uid index without a state directory: entries kept in memory */
export const UID_INDEX_MEMORY_MAX = 100_000;
/** uid index in index.db: rows kept at most (oldest go first) */
export const UID_INDEX_ROWS_MAX = 1_000_000;
/** correlator: an APPEND's MessageAppend waits this long for its pair in the same session */
export const APPEND_PAIR_WINDOW_MS = 150;
/** shared join: the delivering bridge's mark may still be on its way: looked up again after this */
export const SHARED_JOIN_GRACE_MS = 150;
/** listen(): the SUB socket's receive buffer, so a burst is not dropped while the consumer is busy */
export const LISTEN_RCVBUF_BYTES = 4 * 1024 * 1024;
/** cursor: while quiet, how often the journal is asked whether anything was missed */
export const CURSOR_CHECK_MS = 30_000;
/** cursor: how long a seq gap may stay open before it is filled from the journal */
export const CURSOR_GAP_WAIT_MS = 1000;
/** event stream: events waiting for a slow consumer; past it the oldest go, behind a reset */
export const STREAM_QUEUE_LIMIT = 10_000;
/** AUTH: verified credentials cached at most (oldest go first) */
export const AUTH_CACHE_MAX = 10_000;
/** intake: on stop, connections still open after this are closed (in-flight ones are drained first) */
export const INTAKE_CLOSE_TIMEOUT_MS = 2000;
/** ingest: signed batches per second (and burst) before it answers 429; far above any Dovecot's rate */
export const INGEST_BATCH_RATE = { perSecond: 5000, burst: 10000 };
/** ingest over HTTP: Dovecot's http-client reuses connections, so they stay open a minute */
export const INGEST_KEEPALIVE_MS = 60_000;
/** process guard: a drain that has not finished by then exits anyway */
export const GUARD_DEADLINE_MS = 60_000;
/** serve: the guard's deadline is --shutdown-timeout plus this, for the closing steps after it */
export const GUARD_SHUTDOWN_MARGIN_MS = 10_000;
/** doctor: `doveconf -P` output read at most */
export const DOVECONF_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** webhooks: a signature whose timestamp is this far off is refused (Stripe's default) */
export const WEBHOOK_SIGNATURE_TOLERANCE_SEC = 300;
/** header capture: the first buffer; it grows geometrically up to MAX_HEADER_BYTES */
export const HEADER_BUFFER_INITIAL = 4096;
/** relays to --smart-host: per phase, as --deliver-timeout's default */
export const RELAY_TIMEOUT_MS = 30_000;

// Memory bounds of per-message state (issue 22.4: `serve` stays flat after warm-up; bench/memory.mjs)
/** delivered copies remembered for a late MessageNew (only while the hook is not known to be there):
 * past this the oldest tenth goes, by which time Dovecot has long reported them (~10 min at 16 deliveries/s) */
export const JOIN_DONE_MAX = 10_000;
/** how long such a copy is remembered: far longer than any hook delay */
export const JOIN_DONE_MS = 10 * 60_000;
/** Lua states whose last batch seq is kept (lost-batch detection); least recently heard go first. A
 * stream connection's state is dropped when it closes, so this bounds HTTP posters and open streams */
export const HOOK_PROCS_MAX = 50_000;
/** users of a shared (native driver) connection remembered for its end: a line cut there means the
 * process ended with batches unsent, of its latest users (the driver holds 1 MB: ~2,000 batches) */
export const HOOK_SHARED_USERS_MAX = 2000;
/** a signed hook batch older or newer than this (s) is refused as stale; its MAC is remembered this long */
export const HOOK_MAC_WINDOW_SEC = 120;
/** MACs remembered against replays: the window's batches at 1,600/s; past it the oldest go first */
export const HOOK_SEEN_MAX = 200_000;
/** hook batch events validated or normalised per turn of the event loop: a 70,000-event batch
 * (a STORE over a large mailbox) yields between slices instead of holding the loop for ~0.3 s */
export const HOOK_EVENT_SLICE = 2000;

// Event path (issue 22.3)
/** frames read per readable wakeup of a SUB/PULL socket: batches the reads, never holds the loop long */
export const RECEIVE_DRAIN_MAX = 512;
/** a resolver answer reused for a user while memcached does not answer: a registration lives 30 s */
export const RESOLVER_STALE_MS = 30_000;
/** users whose last resolver answer is remembered for that */
export const RESOLVER_STALE_USERS = 10_000;
/** log lines are written in batches up to this size (one write, not one per line: ~6 % of serve's
 * CPU per small message went to a write per "stored" line, bench/delivery.mjs BENCH_PROFILE=1) */
export const LOG_BUFFER_BYTES = 8192;
/** … and at least this often, so a quiet server's info lines are not held longer; warn and above go at once */
export const LOG_FLUSH_MS = 100;
/** uid index writes of this long commit together (a commit's fixed cost once, not per message) */
export const INDEX_COMMIT_MS = 10;
/** uid index writes committed in one transaction at most: a 70,000-event batch commits in slices, not one long stall */
export const INDEX_BATCH_MAX = 1000;
/** uid index in memcached: entries this instance wrote or read, also kept locally (a recent
 * message's flag needs no round trip; ~300 bytes each) */
export const UID_INDEX_LOCAL_MAX = 10_000;
/** bytes a bus subscriber may have unsent before its frames are dropped: ~0.6 s of 30,000 events/s
 * (~450 bytes each), so a subscriber that a loaded machine holds up for a moment loses nothing.
 * Subscribers share one buffer per turn: those that lag together hold the same memory, the worst
 * case is this much per stalled subscriber */
export const BUS_HIGH_WATER = 8 * 1024 * 1024;
/** … but all subscribers together no more than this: peers that stall one after another each pin
 * their own turns, so many of them get a share each (128 MB / 64 peers = 2 MB) */
export const BUS_HIGH_WATER_TOTAL = 128 * 1024 * 1024;
/** connections the bus (SP PUB) and a subscribe() PULL socket take at once, handshaken or not;
 * beyond it the kernel's accept is refused (Node closes them at once) */
export const SP_MAX_PEERS = 64;
/** an SP connection (bus subscriber, push endpoint) whose peer has not sent its header by then is closed (nanomsg: 1 s) */
export const SP_HANDSHAKE_MS = 1000;
/** bytes written to a push endpoint and not yet taken by the kernel before frames wait in the
 * endpoint's own bounded queue (which times out and drops oldest first) */
export const PUSH_HIGH_WATER = 256 * 1024;
/** largest frame a subscribe() PULL socket takes (nanomsg's NN_RCVMAXSIZE default, 1 MB): a peer
 * sending more is disconnected */
export const SP_PULL_MAX_FRAME = 1024 * 1024;
/** the state stores' WAL is checkpointed (and fsynced) this often, off the event loop: what an OS
 * crash or power loss can take back is at most about this much (the seq then jumps, see below) */
export const STATE_CHECKPOINT_MS = 1000;
/** a store's own checkpoint on the main thread only past this WAL size (4 KB pages): the backstop
 * while the checkpoint thread is gone */
export const STATE_WAL_BACKSTOP_PAGES = 10_000;
/** after an unclean stop with a reboot since, every user's seq continues at least this far above
 * the highest one stored: far more than could have been given out and lost since the last sync */
export const SEQ_JUMP_MARGIN = 1_000_000_000;
