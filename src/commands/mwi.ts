// `vmbridge mwi`: count one voicemail box over IMAP, as the MWI stage does, and print it as JSON.
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { makeBox, parseBoxId } from '../mwi/boxes.js';
import { ImapCounter } from '../mwi/count.js';
import { ImapPool } from '../imap/pool.js';
import { EX, ExitError } from './exit.js';
import { configOption } from '../config-help.js';

interface Opts {
    imap?: string;
    config?: string;
    user: string;
    box: string;
    folder: string;
    shareId?: string;
    imapMasterSeparator: string;
}

export function register(program: Command): void {
    program
        .command('mwi')
        .description("print a voicemail box's message counts (new includes urgent) as JSON, counted as Asterisk does")
        .option('--imap <url>', 'imap://master:password@host:port (Dovecot master user)')
        .option('--config <file>', 'JSON configuration file (for --imap)')
        .requiredOption('--user <user>', 'Dovecot user whose mailbox stores the box (imapuser)')
        .requiredOption('--box <mailbox@context>', 'voicemail box, e.g. 1000@default')
        .option('--folder <name>', 'voicemail folder (imapfolder)', 'INBOX')
        .option('--share-id <id>', 'imapvmshareid, when the box stores its messages under a shared id')
        .addOption(configOption('imapMasterSeparator', 'c'))
        .action(async (opts: Opts) => {
            const { imap } = loadConfig(opts.imap ? { imap: opts.imap } : {}, process.env, opts.config);
            if (!imap) throw new ExitError(EX.USAGE, 'missing option --imap: imap://master:password@host:port');
            let box;
            let pool: ImapPool;
            try {
                box = makeBox({ ...parseBoxId(opts.box), user: opts.user, folder: opts.folder, shareId: opts.shareId });
            } catch (err) {
                throw new ExitError(EX.USAGE, `invalid option --box: ${(err as Error).message}`);
            }
            try {
                pool = new ImapPool(imap, { logger: createLogger(), separator: opts.imapMasterSeparator, max: 1 });
            } catch (err) {
                throw new ExitError(EX.USAGE, `invalid option --imap: ${(err as Error).message}`);
            }
            try {
                const counts = await new ImapCounter(pool).count(box);
                process.stdout.write(JSON.stringify({ mailbox: box.id, user: box.user, folder: box.folder, ...counts }) + '\n');
            } catch (err) {
                throw new ExitError(EX.UNAVAILABLE, `IMAP: ${(err as Error).message}`);
            } finally {
                await pool.close();
            }
        });
}
