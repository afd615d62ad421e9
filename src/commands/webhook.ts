// `vmbridge webhook add|list|remove|enable`: administrators manage per-user webhooks in the state
// directory (a running serve picks changes up within WEBHOOK_SYNC_MS) and re-enable endpoints
// that were disabled after sustained failure. Site-wide webhooks live in serve's configuration.
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { configOption } from '../config-help.js';
import { EVENT_TYPES } from '../events/event.js';
import { openStateDb } from '../state/db.js';
import { WebhookCursors } from '../webhooks/cursors.js';
import { WebhookSpecError, WebhookStore } from '../webhooks/store.js';
import { EX, ExitError } from './exit.js';

interface Common {
    stateDir?: string;
    config?: string;
    webhookAllowPrivate?: string | boolean;
}

function open(opts: Common) {
    const config = loadConfig(
        { ...(opts.stateDir ? { stateDir: opts.stateDir } : {}), ...(opts.webhookAllowPrivate !== undefined ? { webhookAllowPrivate: opts.webhookAllowPrivate } : {}) },
        process.env,
        opts.config
    );
    const db = openStateDb(config.stateDir, { claim: false });
    return { db, store: new WebhookStore(db, { allowPrivate: config.webhookAllowPrivate }), cursors: new WebhookCursors(db) };
}

function withCommon(cmd: Command): Command {
    return cmd.addOption(configOption('stateDir', 'dir')).option('--config <file>', 'JSON configuration file (for --state-dir)');
}

export function register(program: Command): void {
    const wh = program.command('webhook').description('manage per-user webhooks in the state directory (the secret is printed once, by add)');
    withCommon(wh.command('add').description('create a webhook for a user; prints it with its signing secret as JSON'))
        .requiredOption('--user <user>', 'Dovecot username whose events it gets')
        .requiredOption('--url <url>', 'https URL the events are POSTed to')
        .option('--types <list>', `event types, comma-separated (${EVENT_TYPES.join(',')}; default all)`)
        .option('--webhook-allow-private [bool]', 'allow http and private/loopback addresses (docs/policy.md)')
        .action((opts: Common & { user: string; url: string; types?: string }) => {
            const { db, store } = open(opts);
            try {
                const spec = { url: opts.url, ...(opts.types ? { types: opts.types.split(',').map(t => t.trim()) } : {}) };
                process.stdout.write(JSON.stringify(store.create(opts.user, spec)) + '\n');
            } catch (err) {
                if (err instanceof WebhookSpecError) throw new ExitError(EX.USAGE, err.message);
                throw err;
            } finally {
                db.close();
            }
        });
    withCommon(wh.command('list').description("print a user's webhooks (without secrets), one JSON per line, with their state"))
        .requiredOption('--user <user>', 'Dovecot username')
        .action((opts: Common & { user: string }) => {
            const { db, store, cursors } = open(opts);
            for (const w of store.list(opts.user)) process.stdout.write(JSON.stringify({ ...w, ...cursors.state(w.id) }) + '\n');
            db.close();
        });
    withCommon(wh.command('remove').description("delete one of a user's webhooks"))
        .requiredOption('--user <user>', 'Dovecot username')
        .argument('<id>', 'webhook id (wh_…)')
        .action((id: string, opts: Common & { user: string }) => {
            const { db, store } = open(opts);
            const gone = store.delete(opts.user, id);
            db.close();
            if (!gone) throw new ExitError(EX.USAGE, `no webhook ${id} for user ${opts.user}`);
        });
    withCommon(wh.command('enable').description('re-enable a webhook disabled after sustained failure (per-user id, or a site-wide one: site-…)'))
        .argument('<id>', 'webhook id')
        .action((id: string, opts: Common) => {
            const { db, cursors } = open(opts);
            cursors.enable(id);
            db.close();
        });
}
