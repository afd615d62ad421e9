// Help text for every configuration key, one line each; the default shown after it comes from
// the schema (config.ts), so neither is written twice. The Record type makes a key without help a
// compile error. Other commands take their shared options from here too (configOption).
import { Option } from 'commander';
import type { z } from 'zod';
import { camelToFlag, ConfigSchema, MEMCACHED_RESOLVER } from './config.js';

type Key = keyof z.input<typeof ConfigSchema>;

export const HELP: Record<Key, string> = {
    lmtp: 'LMTP listener host:port or unix:/path (for Postfix lmtp:unix:)',
    lmtpSocketMode: 'mode of the --lmtp unix socket (see docs/policy.md)',
    http: 'client listener host:port (or a port: loopback) for apps: /v1/events (SSE), /v1/ws, /v1/mwi, /v1/replay, the page at / (off unless given)',
    httpTlsCert: 'PEM certificate for the client listener (HTTPS; with --http-tls-key)',
    httpTlsKey: 'PEM private key for the client listener',
    helloTimeout: 'close a client that has not sent LHLO/EHLO within this many ms (421)',
    smtp: 'optional SMTP listener host:port',
    deliver: 'onward target: lmtp://host:port | lmtp:/socket | lda:/usr/lib/dovecot/dovecot-lda[?args] | maildir:<dir>',
    deliverTimeout: 'downstream timeout per phase, ms',
    deliverDataDoneTimeout: "LMTP downstream: wait for the replies after the final dot, ms (as Postfix's lmtp_data_done_timeout)",
    resolver: "memory | libmemcached string, e.g. '--SERVER=127.0.0.1:11211'",
    resolverCn: 'OpenChange resolver key: username | email',
    backend: 'OpenChange backend name in newmail payloads',
    publish: 'nanomsg PUB bus url (default ipc://<state-dir>/bus.sock, mode 0660; tcp:// is unauthenticated: only on a trusted network)',
    stateDir: 'state directory: tokens, the bus socket and (memory resolver) the journal (state.db) and uid index (index.db)',
    replay: 'host:port of the replay endpoint for listen --since (off unless given)',
    replayToken: 'token replay clients must present (default: generated in <state-dir>/replay.token, mode 0640)',
    replayAccess: 'who may reach the replay endpoint (default: loopback only)',
    replayMax: 'events per replay request at most (clients page)',
    journalMaxTotal: 'journal events kept over all users (state.db)',
    ingest: "host:port or unix:/path where Dovecot's hook reaches vmbridge (stream or HTTP on one listener)",
    ingestToken: 'token the Dovecot hook must present (default: generated in --ingest-token-file)',
    ingestTokenFile: 'where the generated ingest token is kept',
    hook: "Dovecot's hook installed: yes | no | auto (yes once it was heard from); with it each newmail waits for Dovecot's uid",
    dovecotKeyFile: "dovecot-config: where the Dovecot include with the hook's key goes (0640 root:dovecot; default next to --ingest-token-file)",
    hookJoinWindow: "how long a delivery's newmail waits for Dovecot's MessageNew before an IMAP lookup, ms",
    imap: 'imap://master:password@host:port for recounts and header fetches',
    ami: 'ami://user:secret@host:port for message-waiting updates to Asterisk',
    mwiResyncRate: 'full MWI recounts (start, AMI reconnect, gaps) paced at this many boxes per second',
    mwiConverge: "ms to let Asterisk's MessageWaiting settle before correcting a disagreement (max 1000; 0 = do not watch)",
    mwiCorrections: 'MWI corrections per box per minute at most',
    usernameFormat: 'Dovecot auth_username_format applied to RCPT addresses (e.g. %Lu, %Ln)',
    maxSize: 'message size limit, bytes',
    maxRecipients: 'recipients per message',
    receivedHeader: 'add a Received header',
    admin: 'host:port for /livez, /readyz (/healthz), /metrics and the status page at /',
    recipientMap: 'file of "address user" lines mapping RCPT addresses (aliases, proxy addresses) to Dovecot users',
    recipientMapServers: "memcached map of RCPT addresses to users, libmemcached string (e.g. '--SERVER=127.0.0.1:11211'); keys vmbridge:rcpt:<address>",
    recipientMapTimeout: 'memcached recipient map timeout, ms (no answer: 451)',
    unknownRecipient: 'recipients in no map: pass (to the downstream under --username-format) | reject (550 5.1.1) | relay (to --smart-host)',
    smartHost: 'smtp://[user:pass@]host:port or smtps://... for relayed messages',
    classActions: 'per-class actions, JSON: {"default":{"fax":"reject"},"users":{"alice":{"voicemail":{"relay":"a@example.com"}}},"relayPrivate":false}',
    privateHeader: 'header marking private messages besides Sensitivity: Private ("Name" or "Name: value"); those are never relayed unless relayPrivate',
    webhook: 'site-wide webhook URL, repeatable (or a JSON list of {url, types, secretFile|secretEnv} in --config); see docs/policy.md',
    webhookTypes: 'event types the --webhook URLs get, comma-separated (default: all)',
    webhookSecretFile: 'file holding the signing secret of the --webhook URLs (never give a secret on the command line)',
    webhookAllowPrivate: 'let per-user webhooks use http and private/loopback addresses (SSRF: docs/policy.md)',
    nice: "CPU priority of every thread: auto = nice 10 once Dovecot's native driver connects (Dovecot's processes go first on a busy machine); 0-19 = that nice at start (0: as started)",
    logLevel: 'fatal | error | warn | info | debug | trace | silent',
    journalRetention: 'journal retention, seconds (memcached TTLs go up to 30 days)',
    journalMax: 'journal events kept per user',
    coalesceWindow: 'events of one user arriving within this many ms go out as one burst (0 = off, the default: events batch behind work in flight)',
    coalesceMaxHold: 'longest a burst is held back, ms',
    ingestAccess: 'who may reach the ingest endpoint: "allow 127.0.0.0/8, deny *" or a JSON list (default: loopback only)',
    ingestMaxBody: 'largest hook batch body, bytes (larger: 413)',
    lmtpAccess: 'who may connect to --lmtp (access list; default: loopback only, see docs/policy.md)',
    smtpAccess: 'who may connect to --smtp (access list; default: loopback only, see docs/policy.md)',
    untrusted: 'clients outside the access lists: refuse | auth (admitted for AUTH only)',
    tls: 'STARTTLS on the listeners: disabled | optional | required (default: optional with --tls-cert)',
    tlsCert: 'PEM certificate for STARTTLS',
    tlsKey: 'PEM private key for STARTTLS',
    authCacheTtl: 'how long a successful AUTH (checked against Dovecot over --imap) is cached, ms (0 = never)',
    maxConnections: 'open intake connections at most, over all clients',
    maxConnectionsPerIp: 'open intake connections at most per client address',
    commandTimeout: 'idle time between commands before the connection is closed, ms',
    dataTimeout: 'longest a DATA transfer may take, ms',
    shutdownTimeout: 'how long stop waits for in-flight transactions, ms',
    voicemailConf: 'Asterisk voicemail.conf: boxes → imapuser, imapfolder, imapvmshareid',
    amiMode: 'refresh: AMI VoicemailRefresh (app_voicemail recounts) | mwiupdate: AMI MWIUpdate with our counts',
    mwiDebounce: 'per-box coalescing window for recounts, ms',
    mwiResync: 'periodic full recount of every known box every N ms (0 = only at start, AMI reconnects and event gaps)',
    externnotify: 'externnotify-compatible command: <cmd> context extension new old urgent',
    imapMasterSeparator: "Dovecot's auth_master_user_separator, for <user>*<master> logins"
};

const BOOLEAN_KEYS = new Set<Key>(['receivedHeader']);

/** The schema's default for a key, if it has one. */
export function defaultOf(key: Key): unknown {
    return defaultIn(ConfigSchema.shape[key]);
}

function defaultIn(schema: unknown): unknown {
    const def = (schema as { _zod: { def: { type: string; defaultValue?: unknown } } })._zod.def;
    // prefault: a typed value's default is its text, parsed like a given one (config-values.ts)
    return def.type === 'default' || def.type === 'prefault' ? def.defaultValue : undefined;
}

function helpWithDefault(key: Key): string {
    const d = defaultOf(key);
    return d === undefined ? HELP[key] : `${HELP[key]} (default: ${String(d)})`;
}

/** serve's flag for a key: help and shown default from here, value validated by the schema only. */
export function serveOption(key: Key): Option {
    const flag = `--${camelToFlag(key)}`;
    // --webhook may be given several times.
    if (key === 'webhook') return new Option(`${flag} <url>`, helpWithDefault(key)).argParser((v: string, prev: unknown) => [...(Array.isArray(prev) ? prev : []), v]);
    return new Option(BOOLEAN_KEYS.has(key) ? `${flag} [bool]` : `${flag} <value>`, helpWithDefault(key));
}

/** The same option for another command that reuses it, with the schema's default applied. */
export function configOption(key: Key, valueName = 'value'): Option {
    const o = new Option(`--${camelToFlag(key)} <${valueName}>`, HELP[key]);
    const d = defaultOf(key);
    return d === undefined ? o : o.default(d);
}

/** `--resolver` of subscribe and resolve: serve's parser, with their memcached default (config.ts). */
export function memcachedResolverOption(): Option {
    return new Option('--resolver <string>', 'libmemcached configuration string').default(defaultIn(MEMCACHED_RESOLVER));
}
