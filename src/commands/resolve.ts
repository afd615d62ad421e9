// `vmbridge resolve`: print who would be notified for a user, `<kind> <url>` per line.
import type { Command } from 'commander';
import { createLogger } from '../log.js';
import type { CnMode } from '../resolve/key.js';
import { MemcachedResolver } from '../resolve/memcached.js';
import { DEFAULT_RESOLVER, isMemoryResolver } from '../memcached/servers.js';
import { EX, ExitError } from './exit.js';
import { configOption } from '../config-help.js';

export function register(program: Command): void {
    program
        .command('resolve')
        .description("print a user's push endpoints (OpenChange sessions and vmbridge subscribers) from memcached")
        .option('--resolver <string>', 'libmemcached configuration string', DEFAULT_RESOLVER)
        .requiredOption('--user <user>', 'Dovecot username')
        .addOption(configOption('resolverCn', 'mode'))
        .action(async (opts: { resolver: string; user: string; resolverCn: string }) => {
            if (opts.resolverCn !== 'username' && opts.resolverCn !== 'email') {
                throw new ExitError(EX.USAGE, 'invalid option --resolver-cn: expected username or email');
            }
            if (isMemoryResolver(opts.resolver)) {
                throw new ExitError(EX.USAGE, 'invalid option --resolver: the memory resolver lives inside serve; give --SERVER=host:port');
            }
            let resolver: MemcachedResolver;
            try {
                resolver = MemcachedResolver.fromConfig(opts.resolver, { cn: opts.resolverCn as CnMode, logger: createLogger(), timeoutMs: 2000 });
            } catch (err) {
                throw new ExitError(EX.USAGE, `invalid option --resolver: ${(err as Error).message}`);
            }
            try {
                const { endpoints, failures } = await resolver.query(opts.user);
                if (failures.length) throw new ExitError(EX.UNAVAILABLE, `memcached unavailable: ${(failures[0] as Error)?.message ?? failures[0]}`);
                for (const ep of endpoints) process.stdout.write(`${ep.kind} ${ep.url}${ep.types ? ' ' + ep.types.join(',') : ''}\n`);
            } finally {
                await resolver.close();
            }
        });
}
