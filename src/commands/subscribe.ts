// `vmbridge subscribe`: register in memcached for a user, bind PULL, print pushed events as JSON
// lines until SIGINT/SIGTERM, then remove the registration.
import type { Command } from 'commander';
import { parseSince, parseTypes, signalOnTermination } from '../client/options.js';
import { printEvents } from '../client/print.js';
import { subscribe } from '../client/subscribe.js';
import type { EventType } from '../events/event.js';
import { createLogger } from '../log.js';
import { parseMemcachedResolver } from '../config.js';
import { memcachedResolverOption } from '../config-help.js';
import { encodeEvent } from '../wire/json.js';
import { EX, ExitError, parseFlag } from './exit.js';

interface Flags {
    resolver: string;
    user: string;
    bind: string;
    advertise?: string;
    type?: string;
    ttl: string;
    since?: string;
}

export function register(program: Command): void {
    program
        .command('subscribe')
        .description('register a PULL endpoint for a user in memcached and print the events pushed to it as JSON lines')
        .addOption(memcachedResolverOption())
        .requiredOption('--user <user>', 'Dovecot username')
        .requiredOption('--bind <url>', 'nanomsg URL to bind the PULL socket on, e.g. tcp://127.0.0.1:5557')
        .option('--advertise <url>', 'URL vmbridge connects to, when --bind uses a wildcard host')
        .option('--type <types>', 'only these event types, comma-separated')
        .option('--ttl <seconds>', 'registration TTL, refreshed while running', '30')
        .option('--since <seq>', 'resume after this seq: missed events (from the memcached journal) first, then live, in seq order')
        .action(async (opts: Flags) => {
            const types: EventType[] | undefined = parseFlag('--type', () => parseTypes(opts.type));
            const since: number | undefined = parseFlag('--since', () => parseSince(opts.since));
            const ttlSec = Number(opts.ttl);
            if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > 86_400) throw new ExitError(EX.USAGE, 'invalid option --ttl: expected 1..86400 seconds');
            const resolver = parseFlag('--resolver', () => parseMemcachedResolver(opts.resolver)); // refused libmemcached options: exit 64
            if (resolver.kind === 'memory') {
                throw new ExitError(EX.USAGE, 'invalid option --resolver: subscribe needs memcached (--SERVER=host:port); the memory resolver lives inside serve');
            }
            let stream;
            try {
                stream = subscribe({ ...opts, types, since, ttlSec, signal: signalOnTermination(), logger: createLogger() });
                await stream.ready;
            } catch (err) {
                await stream?.close();
                throw new ExitError(EX.UNAVAILABLE, `subscribe cannot start: ${(err as Error).message}`);
            }
            await printEvents(stream, encodeEvent);
        });
}
