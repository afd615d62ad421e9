// commander entry. One file per command under commands/ (thin, named after it, as WildDuck's
// handlers); this file only registers them and maps failures to sysexits codes.
import { Command, CommanderError } from 'commander';
import { ConfigError } from './config.js';
import { EX, ExitError } from './commands/exit.js';
import * as serve from './commands/serve.js';
import * as listen from './commands/listen.js';
import * as subscribe from './commands/subscribe.js';
import * as resolve from './commands/resolve.js';
import * as dovecotConfig from './commands/dovecot-config.js';
import * as mwi from './commands/mwi.js';
import * as token from './commands/token.js';
import * as doctor from './commands/doctor.js';
import * as webhook from './commands/webhook.js';
import { VERSION } from './version.js';

const COMMANDS = [serve, listen, subscribe, resolve, dovecotConfig, mwi, token, doctor, webhook];

export async function main(argv: string[]): Promise<number> {
    const program = new Command('vmbridge')
        .description('Voicemail-aware LMTP/SMTP sink for Dovecot that pushes mail events to phones and clients')
        .version(VERSION, '-V, --version', 'print the version (from package.json)')
        .exitOverride()
        .showHelpAfterError(false)
        .configureOutput({ writeErr: s => process.stderr.write(s) });
    for (const c of COMMANDS) c.register(program);
    try {
        await program.parseAsync(argv);
        return EX.OK;
    } catch (err) {
        if (err instanceof CommanderError) {
            // help and version "errors" are successes; everything else is a usage error (64).
            return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? EX.OK : EX.USAGE;
        }
        if (err instanceof ConfigError) {
            process.stderr.write(`vmbridge: ${err.message}\n`);
            return EX.USAGE;
        }
        if (err instanceof ExitError) {
            if (err.message) process.stderr.write(`vmbridge: ${err.message}\n`);
            return err.code;
        }
        throw err;
    }
}
