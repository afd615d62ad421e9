// `vmbridge doctor [serve flags]`: checks the whole chain this configuration describes, one line
// per check with the fix (src/doctor/). Exit 0 when all pass, 78 for configuration problems,
// 69 when a dependency is unavailable.
import type { Command } from 'commander';
import { runDoctor } from '../doctor/index.js';
import { readVoicemailConf } from '../mwi/voicemail-conf.js';
import { DOCTOR_TIMEOUT_MS } from '../limits.js';
import { ExitError } from './exit.js';
import { addConfigOptions, configFrom } from './serve.js';

export function register(program: Command): void {
    const cmd = program
        .command('doctor')
        .description('check Dovecot (hook, LMTP, IMAP), memcached, AMI, voicemail folders and the running bridge; exit 0 when all pass')
        .option('--dovecot-conf <file>', "Dovecot's main configuration, as doveconf -c takes it", '/etc/dovecot/dovecot.conf')
        .option('--user <name>', 'Dovecot user for the IMAP master-login check (default: the first imapuser of --voicemail-conf)');
    addConfigOptions(cmd).action(async () => {
        const config = configFrom(cmd);
        const { dovecotConf, user } = cmd.opts<{ dovecotConf: string; user?: string }>();
        const code = await runDoctor({ config, dovecotConf, user: user ?? firstImapUser(config.voicemailConf), timeoutMs: DOCTOR_TIMEOUT_MS }, line =>
            process.stdout.write(line + '\n')
        );
        if (code) throw new ExitError(code);
    });
}

function firstImapUser(file: string | undefined): string | undefined {
    if (!file) return undefined;
    try {
        return readVoicemailConf(file).boxes.find(b => b.imapuser)?.imapuser;
    } catch {
        return undefined; // the voicemail-folders check names the problem
    }
}
