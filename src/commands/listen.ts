// `vmbridge listen`: print the bus's events (one JSON per line, nothing else) on stdout.
import type { Command } from 'commander';
import path from 'node:path';
import { listen } from '../client/listen.js';
import { defaultBus, REPLAY_TOKEN_FILE } from '../publish/bus-address.js';
import { parseSince, parseTypes, signalOnTermination } from '../client/options.js';
import type { EventType } from '../events/event.js';
import { DEFAULT_REPLAY, readReplayToken } from '../client/replay.js';
import { createLogger } from '../log.js';
import { encodeEvent } from '../wire/json.js';
import { EX, ExitError, parseFlag } from './exit.js';
import { printEvents } from '../client/print.js';
import { configOption } from '../config-help.js';
import { envValue } from '../config.js';

export function register(program: Command): void {
    program
        .command('listen')
        .description('print the events of the bus as JSON lines (filtered by user and type at the socket)')
        .option('--connect <urls>', "the bus to connect to (serve --publish; default serve's: ipc://<state-dir>/bus.sock); comma-separated for several bridges")
        .addOption(configOption('stateDir', 'dir'))
        .option('--replay-token-file <file>', 'token for --replay (default <state-dir>/replay.token; env VMBRIDGE_REPLAY_TOKEN)')
        .option('--user <user>', 'only this Dovecot username')
        .option('--type <types>', 'only these event types, comma-separated (newmail,flag,move,delete,mwi,reset)')
        .option('--since <seq>', 'resume after this seq (with --user): missed events first, then live, in seq order')
        .option('--replay <url>', `the bridge's replay endpoint (serve --replay), default ${DEFAULT_REPLAY} with --since`)
        .action(async (opts: { connect?: string; stateDir: string; replayTokenFile?: string; user?: string; type?: string; since?: string; replay?: string }) => {
            const types: EventType[] | undefined = parseFlag('--type', () => parseTypes(opts.type));
            const since: number | undefined = parseFlag('--since', () => parseSince(opts.since));
            if ((since !== undefined || opts.replay) && !opts.user)
                throw new ExitError(EX.USAGE, `invalid option ${since !== undefined ? '--since' : '--replay'}: needs --user (seqs are per user)`);
            let stream;
            try {
                const connect = (opts.connect ?? defaultBus(opts.stateDir))
                    .split(',')
                    .map(u => u.trim())
                    .filter(Boolean);
                const replayToken = envValue('replayToken') ?? readReplayToken(opts.replayTokenFile ?? path.join(opts.stateDir, REPLAY_TOKEN_FILE));
                stream = listen({ connect, user: opts.user, types, since, replay: opts.replay, replayToken, signal: signalOnTermination(), logger: createLogger() });
            } catch (err) {
                throw new ExitError(EX.UNAVAILABLE, (err as Error).message);
            }
            await printEvents(stream, encodeEvent);
        });
}
