// `vmbridge token create|list|revoke`: app tokens for the client listener (src/http/tokens.ts).
// The secret is printed once, on stdout, at creation; list shows ids, never secrets.
import type { Command } from 'commander';
import { DEFAULTS } from '../config.js';
import { parseDuration, TokenStore } from '../http/tokens.js';
import { EX, ExitError, parseFlag } from './exit.js';

export function register(program: Command): void {
    const token = program.command('token').description('app tokens for the client listener (--http): create, list, revoke');
    const stateDir = ['--state-dir <dir>', "serve's state directory (tokens live in its state.db)", DEFAULTS.stateDir] as const;
    token
        .command('create')
        .description('create a token for a user and print it once (Bearer <token>)')
        .requiredOption('--user <user>', 'Dovecot username the token reads events for')
        .option('--expires <duration>', 'lifetime, e.g. 90s, 12h, 30d (default: until revoked)')
        .option('--admin', 'may read any user (?user=)')
        .option(...stateDir)
        .action((o: { user: string; expires?: string; admin?: boolean; stateDir: string }) => {
            const expiresMs = o.expires ? parseFlag('--expires', () => parseDuration(o.expires!)) : undefined;
            withStore(o.stateDir, s => {
                const { token: secret, info } = s.create(o.user, { admin: o.admin, expiresMs });
                process.stdout.write(`${secret}\n`);
                process.stderr.write(
                    `token ${info.id} for ${info.user}${info.admin ? ' (admin)' : ''}${info.expires ? ` expires ${new Date(info.expires).toISOString()}` : ''}: shown once, keep it\n`
                );
            });
        });
    token
        .command('list')
        .description('list tokens: id, user, admin, created, expires')
        .option(...stateDir)
        .action((o: { stateDir: string }) =>
            withStore(o.stateDir, s => {
                for (const t of s.list()) {
                    process.stdout.write(
                        `${t.id}\t${t.user}\t${t.admin ? 'admin' : '-'}\t${new Date(t.created).toISOString()}\t${t.expires ? new Date(t.expires).toISOString() : 'never'}\n`
                    );
                }
            })
        );
    token
        .command('revoke <id>')
        .description('revoke a token by id (effective on the next request)')
        .option(...stateDir)
        .action((id: string, o: { stateDir: string }) =>
            withStore(o.stateDir, s => {
                if (!s.revoke(id)) throw new ExitError(EX.DATAERR, `no token ${id}`);
            })
        );
}

function withStore(dir: string, fn: (s: TokenStore) => void): void {
    let store: TokenStore;
    try {
        store = new TokenStore(dir);
    } catch (err) {
        throw new ExitError(EX.UNAVAILABLE, `state directory ${dir}: ${(err as Error).message}`);
    }
    try {
        fn(store);
    } finally {
        store.close();
    }
}
