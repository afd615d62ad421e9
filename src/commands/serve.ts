// `vmbridge serve`: run the bridge until SIGTERM/SIGINT.
import type { Command } from 'commander';
import { Bridge } from '../bridge.js';
import { ConfigError, ConfigSchema, envValue, loadConfig, type Config } from '../config.js';
import { serveOption } from '../config-help.js';
import { createLogger } from '../log.js';
import { EX, ExitError } from './exit.js';
import { installProcessGuard } from './guard.js';
import { applyNice } from './priority.js';
import { GUARD_SHUTDOWN_MARGIN_MS } from '../limits.js';

/** Adds every config key as a long flag (values are validated by the zod schema, not here). */
export function addConfigOptions(cmd: Command): Command {
    cmd.option('--config <file>', 'JSON config file (keys = long flags in camelCase)');
    for (const key of Object.keys(ConfigSchema.shape) as (keyof Config)[]) {
        cmd.addOption(serveOption(key));
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
    return loadConfig(flags, process.env, opts.config ?? envValue('config'));
}

export function register(program: Command): void {
    const cmd = program.command('serve').description('run the bridge: LMTP/SMTP intake, onward delivery, events');
    addConfigOptions(cmd).action(async () => {
        const config = configFrom(cmd);
        const log = createLogger(config.logLevel);
        const onNativeDriver = applyNice(config.nice, log); // a number: now, before the bridge's threads start
        const bridge = construct(() => new Bridge(config, log, { onNativeDriver })); // e.g. the state directory in use: 69
        installProcessGuard(log, () => bridge.stop(), config.shutdownTimeout + GUARD_SHUTDOWN_MARGIN_MS);
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
