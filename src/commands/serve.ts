// `vmbridge serve`: run the bridge until SIGTERM/SIGINT.
import { Command, Option } from 'commander';
import { Bridge } from '../bridge.js';
import { camelToFlag, ConfigError, ConfigSchema, loadConfig, type Config } from '../config.js';
import { createLogger } from '../log.js';
import { EX, ExitError } from './exit.js';
import { installProcessGuard } from './guard.js';

const HELP: Partial<Record<keyof Config, string>> = {
    lmtp: 'LMTP listener host:port (default 127.0.0.1:2424) or unix:/path (for Postfix lmtp:unix:)',
    lmtpSocketMode: 'mode of the --lmtp unix socket (default 0660; see docs/policy.md)',
    helloTimeout: 'close a client that has not sent LHLO/EHLO within this many ms (421)',
    smtp: 'optional SMTP listener host:port',
    deliver: 'onward target: lmtp://host:port | lmtp:/socket | lda:/usr/lib/dovecot/dovecot-lda[?args] | maildir:<dir>',
    deliverTimeout: 'downstream timeout per phase, ms',
    deliverDataDoneTimeout: "LMTP downstream: wait for the replies after the final dot, ms (as Postfix's lmtp_data_done_timeout)",
    resolver: "memory | libmemcached string, e.g. '--SERVER=127.0.0.1:11211'",
    resolverCn: 'OpenChange resolver key: username | email',
    backend: 'OpenChange backend name in newmail payloads',
    publish: 'nanomsg PUB bus url (default ipc://<state-dir>/bus.sock, mode 0660; tcp:// is unauthenticated: only on a trusted network)',
    stateDir: 'state directory: tokens, the bus socket and (memory resolver) the journal and uid index in state.db',
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
    mwiResyncRate: 'full MWI recounts (start, AMI reconnect, gaps) paced at this many boxes per second (default 100)',
    mwiConverge: "ms to let Asterisk's MessageWaiting settle before correcting a disagreement (default 250, max 1000; 0 = do not watch)",
    mwiCorrections: 'MWI corrections per box per minute at most (default 3)',
    usernameFormat: "Dovecot auth_username_format applied to RCPT addresses (e.g. %Lu, %Ln)",
    maxSize: 'message size limit, bytes',
    maxRecipients: 'recipients per message',
    receivedHeader: 'add a Received header',
    admin: 'host:port for /healthz and /metrics',
    recipientMap: 'file of "address user" lines mapping RCPT addresses (aliases, proxy addresses) to Dovecot users',
    recipientMapServers: "memcached map of RCPT addresses to users, libmemcached string (e.g. '--SERVER=127.0.0.1:11211'); keys vmbridge:rcpt:<address>",
    recipientMapTimeout: 'memcached recipient map timeout, ms (no answer: 451)',
    unknownRecipient: 'recipients in no map: pass (to the downstream under --username-format) | reject (550 5.1.1) | relay (to --smart-host)',
    smartHost: 'smtp://[user:pass@]host:port or smtps://... for relayed messages',
    classActions: 'per-class actions, JSON: {"default":{"fax":"reject"},"users":{"alice":{"voicemail":{"relay":"a@example.com"}}},"relayPrivate":false}',
    privateHeader: 'header marking private messages besides Sensitivity: Private ("Name" or "Name: value"); those are never relayed unless relayPrivate',
    logLevel: 'fatal | error | warn | info | debug | trace | silent'
};

const BOOLEAN_KEYS = new Set<keyof Config>(['receivedHeader']);

/** Adds every config key as a long flag (values are validated by the zod schema, not here). */
export function addConfigOptions(cmd: Command): Command {
    cmd.option('--config <file>', 'JSON config file (keys = long flags in camelCase)');
    for (const key of Object.keys(ConfigSchema.shape) as (keyof Config)[]) {
        const flag = `--${camelToFlag(key)}`;
        cmd.addOption(new Option(BOOLEAN_KEYS.has(key) ? `${flag} [bool]` : `${flag} <value>`, HELP[key] ?? key));
    }
    return cmd;
}

/** Only what the user typed counts as a flag, so env and file values are not shadowed by defaults. */
export function configFrom(cmd: Command): Config {
    const opts = cmd.opts();
    const flags: Record<string, unknown> = {};
    for (const key of Object.keys(ConfigSchema.shape)) {
        if (cmd.getOptionValueSource(key) === 'cli') flags[key] = opts[key];
    }
    return loadConfig(flags, process.env, opts.config ?? process.env.VMBRIDGE_CONFIG);
}

export function register(program: Command): void {
    const cmd = program.command('serve').description('run the bridge: LMTP/SMTP intake, onward delivery, events');
    addConfigOptions(cmd).action(async () => {
        const config = configFrom(cmd);
        const log = createLogger(config.logLevel);
        const bridge = construct(() => new Bridge(config, log)); // e.g. the state directory in use: 69
        installProcessGuard(log, () => bridge.stop(), config.shutdownTimeout + 10_000);
        try {
            await bridge.start();
        } catch (err) {
            await bridge.stop().catch(() => undefined);
            throw new ExitError(EX.UNAVAILABLE, (err as Error).message);
        }
        await new Promise<void>(resolve => {
            const stop = (signal: string) => {
                log.info({ signal }, 'stopping: finishing in-flight transactions');
                bridge.stop().then(resolve, resolve);
            };
            process.once('SIGTERM', stop);
            process.once('SIGINT', stop);
            // SIGHUP: re-read flags, env and --config; a bad new configuration keeps the old one
            process.on('SIGHUP', () => {
                try {
                    bridge.reload(configFrom(cmd));
                } catch (err) {
                    log.error({ err: (err as Error).message }, 'SIGHUP: configuration not reloaded');
                }
            });
        });
    });
}

function construct<T>(make: () => T): T {
    try {
        return make();
    } catch (err) {
        if (err instanceof ConfigError) throw err; // a value only the stage could judge: 64, named
        throw new ExitError(EX.UNAVAILABLE, (err as Error).message);
    }
}
