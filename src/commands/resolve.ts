// `vmbridge resolve`: print who would be notified for a user, `<kind> <url>` per line.
import type { Command } from 'commander';
import { createLogger } from '../log.js';
import type { CnMode } from '../resolve/key.js';
import { MemcachedResolver } from '../resolve/memcached.js';
import { parseMemcachedResolver } from '../config.js';
import { EX, ExitError, parseFlag } from './exit.js';
import { RESOLVE_COMMAND_TIMEOUT_MS } from '../limits.js';
import { configOption, memcachedResolverOption } from '../config-help.js';

export function register(program: Command): void {
    program
        .command('resolve')
        .description("print a user's push endpoints (OpenChange sessions and vmbridge subscribers) from memcached")
        .addOption(memcachedResolverOption())
        .requiredOption('--user <user>', 'Dovecot username')
        .addOption(configOption('resolverCn', 'mode'))
        .action(async (opts: { resolver: string; user: string; resolverCn: string }) => {
            if (opts.resolverCn !== 'username' && opts.resolverCn !== 'email') {
                throw new ExitError(EX.USAGE, 'invalid option --resolver-cn: expected username or email');
            }
            const servers = parseFlag('--resolver', () => parseMemcachedResolver(opts.resolver));
            if (servers.kind === 'memory') {
                throw new ExitError(EX.USAGE, 'invalid option --resolver: the memory resolver lives inside serve; give --SERVER=host:port');
            }
            const resolver = MemcachedResolver.fromConfig(servers, { cn: opts.resolverCn as CnMode, logger: createLogger(), timeoutMs: RESOLVE_COMMAND_TIMEOUT_MS });
            try {
                const { endpoints, failures } = await resolver.query(opts.user);
                if (failures.length) throw new ExitError(EX.UNAVAILABLE, `memcached unavailable: ${(failures[0] as Error)?.message ?? failures[0]}`);
                for (const ep of endpoints) process.stdout.write(`${ep.kind} ${ep.url}${ep.types ? ' ' + ep.types.join(',') : ''}\n`);
            } finally {
                await resolver.close();
            }
        });
}
