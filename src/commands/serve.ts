// `vmbridge serve`: run the bridge until SIGTERM/SIGINT.
import { Command, Option } from 'commander';
import { Bridge } from '../bridge.js';
import { camelToFlag, ConfigSchema, loadConfig, type Config } from '../config.js';
import { createLogger } from '../log.js';
import { EX, ExitError } from './exit.js';

const HELP: Partial<Record<keyof Config, string>> = {
    lmtp: 'LMTP listener host:port (default 127.0.0.1:2424)',
    smtp: 'optional SMTP listener host:port',
    deliver: 'onward target: lmtp://host:port | lmtp:/socket | lda:/usr/lib/dovecot/dovecot-lda[?args] | maildir:<dir>',
    deliverTimeout: 'downstream timeout per phase, ms',
    resolver: "memory | libmemcached string, e.g. '--SERVER=127.0.0.1:11211'",
    resolverCn: 'OpenChange resolver key: username | email',
    backend: 'OpenChange backend name in newmail payloads',
    publish: 'nanomsg PUB bus url',
    ingest: "host:port or unix:/path where Dovecot's hook reaches vmbridge (stream or HTTP on one listener)",
    ingestToken: 'token the Dovecot hook must present (default: generated in --ingest-token-file)',
    ingestTokenFile: 'where the generated ingest token is kept',
    imap: 'imap://master:password@host:port for recounts and header fetches',
    ami: 'ami://user:secret@host:port for message-waiting updates to Asterisk',
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
        const bridge = new Bridge(config, log);
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
