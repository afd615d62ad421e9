// One zod schema for serve's configuration. Sources, strongest first: flags, env
// (VMBRIDGE_<FLAG_NAME>), a JSON file (--config, keys = long flags in camelCase), defaults.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseAccessList } from './net/access.js';
import { MwiConfigShape } from './mwi/config.js';
import { amiTarget, deliverTarget, imapTarget, listenOrUnix, portOrTcpListen, resolverValue, serversValue, tcpListen, type ResolverValue } from './config-values.js';
import { WebhookConfigShape } from './webhooks/config.js';

const positiveInt = z.coerce.number().int().positive();
// "allow 127.0.0.0/8, deny 10.0.0.0/8, allow *" or a JSON list of entries (net/access.ts)
const accessList = z.union([z.string(), z.array(z.string())]).superRefine((v, ctx) => {
    try {
        parseAccessList(v);
    } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
});
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform(v => ['true', '1', 'yes'].includes(v))]);

export const ConfigSchema = z.object({
    // host:port, or unix:/path for Postfix's lmtp:unix: (file permissions decide who may connect)
    lmtp: listenOrUnix(/^unix:\/.+/).prefault('127.0.0.1:2424'),
    lmtpSocketMode: z
        .string()
        .regex(/^0?[0-7]{3}$/, 'expected an octal mode such as 0660')
        .default('0660'),
    smtp: tcpListen.optional(),
    deliver: deliverTarget.prefault('maildir:./var/mail'), // a DeliverTarget (deliver/target.ts)
    deliverTimeout: positiveInt.default(30_000),
    // LMTP: wait for Dovecot's replies after the final dot (Postfix: lmtp_data_done_timeout, 600 s)
    deliverDataDoneTimeout: positiveInt.default(540_000),
    // A libmemcached string must place keys as OpenChange's libmemcached does, else exit 64 naming the option.
    resolver: resolverValue.prefault('memory'),
    resolverCn: z.enum(['username', 'email']).default('username'),
    backend: z.string().min(1).default('sogo'),
    // The PUB bus; default ipc://<state-dir>/bus.sock (mode 0660), see publish/bus-address.ts.
    publish: z
        .string()
        .regex(/^(tcp|ipc|inproc|ws):\/\/.+/, 'expected a nanomsg url')
        .optional(),
    // Catch-up (src/publish/front.ts): journal retention in seconds (memcached TTLs go up to 30 days),
    // events kept per user, burst coalescing window and cap in ms, replay endpoint (HTTP, loopback).
    journalRetention: positiveInt.max(30 * 86_400).default(3 * 3600),
    journalMax: positiveInt.default(10_000),
    coalesceWindow: z.coerce.number().int().nonnegative().max(10_000).default(0),
    coalesceMaxHold: positiveInt.max(60_000).default(1000),
    // Off unless given; authenticated (replay-token or <state-dir>/replay.token) and access-listed.
    replay: tcpListen.optional(),
    replayToken: z.string().min(16, 'at least 16 characters').optional(),
    replayAccess: accessList.optional(),
    replayMax: positiveInt.max(100_000).default(1000),
    // Token, bus socket and (embedded default) the journal and uid index: state/db.ts.
    stateDir: z.string().min(1).default('./var'),
    journalMaxTotal: positiveInt.default(500_000),
    // host:port (TCP) or unix:<path> (a stream socket the mail uid can reach; not under /tmp)
    ingest: listenOrUnix(/^unix:.+/).prefault('127.0.0.1:8025'),
    ingestToken: z.string().min(16, 'at least 16 characters').optional(),
    ingestTokenFile: z.string().optional(), // default <state-dir>/ingest.token (loadConfig)
    // who may post to the ingest endpoint (default: loopback only), and its body limit
    ingestAccess: accessList.optional(),
    ingestMaxBody: positiveInt.default(8 * 1024 * 1024),
    // is Dovecot's hook installed? yes: every delivery's newmail waits for its MessageNew (uid);
    // no: never waits; auto: as yes once the hook has been heard from since start
    hook: z.enum(['yes', 'no', 'auto']).default('auto'),
    // dovecot-config: the Dovecot include holding the hook's key (default: next to the token file)
    dovecotKeyFile: z.string().optional(),
    // how long a stored delivery waits for Dovecot's MessageNew before looking its uid up (ms)
    hookJoinWindow: positiveInt.default(2000),
    imap: imapTarget.optional(), // an ImapTarget (imap/target.ts)
    ami: amiTarget.optional(), // an AmiTarget (mwi/ami.ts)
    usernameFormat: z.string().min(1).default('%Lu'),
    maxSize: positiveInt.default(10 * 1024 * 1024),
    maxRecipients: positiveInt.default(15_000),
    receivedHeader: bool.default(false),
    admin: tcpListen.optional(),
    lmtpAccess: accessList.optional(),
    smtpAccess: accessList.optional(),
    untrusted: z.enum(['refuse', 'auth']).default('refuse'),
    tls: z.enum(['disabled', 'optional', 'required']).optional(),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    authCacheTtl: z.coerce.number().int().nonnegative().default(60_000),
    maxConnections: positiveInt.default(1000),
    maxConnectionsPerIp: positiveInt.default(100),
    commandTimeout: positiveInt.default(300_000),
    // a client that has not said LHLO/EHLO by then is closed (421): idle connections cost nothing to open
    helloTimeout: positiveInt.default(10_000),
    dataTimeout: positiveInt.default(600_000),
    shutdownTimeout: positiveInt.default(30_000),
    // Message handling (intake/rules.ts), off by default: recipient map (file, memcached),
    // unknown-recipient policy, per-class actions, smart host for relays.
    recipientMap: z.string().min(1).optional(),
    recipientMapServers: serversValue.optional(),
    recipientMapTimeout: positiveInt.max(10_000).default(250),
    unknownRecipient: z.enum(['pass', 'reject', 'relay']).default('pass'),
    smartHost: z
        .string()
        .regex(/^smtps?:\/\/.+/, 'expected smtp://[user:pass@]host:port or smtps://...')
        .optional(),
    classActions: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    privateHeader: z.string().min(1).optional(),
    // Client listener (src/http/): SSE, WebSocket, MWI counts, replay, the live page. Off unless
    // given; a bare port means loopback. Its own TLS pair, else none (see docs/policy.md).
    http: portOrTcpListen.optional(),
    httpTlsCert: z.string().min(1).optional(),
    httpTlsKey: z.string().min(1).optional(),
    // CPU priority (commands/priority.ts): auto = nice 10 once Dovecot's native driver connects, so
    // the hook is nearly free for Dovecot on a busy machine; 0–19 = that at start (0: as started)
    nice: z.union([z.literal('auto'), z.coerce.number().int().min(0).max(19)]).default('auto'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ...MwiConfigShape,
    // Site-wide webhooks (webhooks/config.ts); per-user ones live in state.db.
    ...WebhookConfigShape
});
export type Config = Omit<z.infer<typeof ConfigSchema>, 'ingestTokenFile'> & { ingestTokenFile: string };

/** Every key's default, from the schema: code outside it reads these instead of repeating them. */
export const DEFAULTS = ConfigSchema.parse({});

/** Bad configuration: the CLI turns it into exit code 64 with this message. */
export class ConfigError extends Error {
    readonly exitCode = 64;
}

export function camelToFlag(key: string): string {
    return key.replace(/[A-Z]/g, c => '-' + c.toLowerCase());
}

export function envName(key: string): string {
    return 'VMBRIDGE_' + camelToFlag(key).replace(/-/g, '_').toUpperCase();
}

/** One key's environment value (VMBRIDGE_<FLAG>), for commands that read a single option. */
export function envValue(key: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
    return env[envName(key)] || undefined;
}

/**
 * Merges the sources and validates. `flags` holds only options the user actually gave
 * (commander's option source 'cli'), so defaults never shadow env or file values.
 */
export function loadConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, file?: string): Config {
    let fromFile: Record<string, unknown> = {};
    if (file) {
        try {
            fromFile = JSON.parse(readFileSync(file, 'utf8'));
        } catch (err) {
            throw new ConfigError(`--config ${file}: ${(err as Error).message}`);
        }
        if (!fromFile || typeof fromFile !== 'object' || Array.isArray(fromFile)) {
            throw new ConfigError(`--config ${file}: expected a JSON object`);
        }
    }
    const fromEnv: Record<string, unknown> = {};
    for (const key of Object.keys(ConfigSchema.shape)) {
        const v = env[envName(key)];
        if (v !== undefined && v !== '') fromEnv[key] = v;
    }
    const merged = { ...fromFile, ...fromEnv, ...flags };
    const parsed = ConfigSchema.strict().safeParse(merged);
    if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const key = String(issue.path[0] ?? (issue as { keys?: string[] }).keys?.[0] ?? '');
        throw new ConfigError(`invalid option --${camelToFlag(key)}: ${issue.message}`);
    }
    // MWI options are read only with --imap (the counts come from there): silently ignoring them hid mistakes.
    const needImap = (['ami', 'voicemailConf', 'externnotify'] as const).filter(k => parsed.data[k] !== undefined);
    if (!parsed.data.imap && needImap.length) {
        throw new ConfigError(`${needImap.map(k => '--' + camelToFlag(k)).join(', ')} need${needImap.length === 1 ? 's' : ''} --imap (MWI counts come from Dovecot over IMAP)`);
    }
    // Defaults that follow another option.
    return { ...parsed.data, ingestTokenFile: parsed.data.ingestTokenFile ?? path.join(parsed.data.stateDir, 'ingest.token') };
}

/**
 * serve's `--resolver` parser for the commands and the library call that read memcached
 * themselves (`subscribe`, `resolve`, subscribe()): the memory resolver lives inside serve, so
 * their default is the local memcached. A value it refuses throws the parser's message.
 */
export const MEMCACHED_RESOLVER = resolverValue.prefault('--SERVER=127.0.0.1:11211');

export function parseMemcachedResolver(text: string | undefined): ResolverValue {
    const r = MEMCACHED_RESOLVER.safeParse(text);
    if (!r.success) throw new Error(r.error.issues[0].message);
    return r.data;
}
