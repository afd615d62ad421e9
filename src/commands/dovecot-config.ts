// `vmbridge dovecot-config [serve flags]`: prints the Dovecot configuration fragment (the
// dovecot/conf.d/95-vmbridge.conf template filled in for this setup) on stdout, appendable to
// dovecot.conf or droppable into conf.d/. Same flags and token file as serve, so the two agree.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadOrCreateToken } from '../events/token.js';
import { addConfigOptions, configFrom } from './serve.js';

const DOVECOT_DIR = fileURLToPath(new URL('../../dovecot/', import.meta.url));

export function register(program: Command): void {
    const cmd = program
        .command('dovecot-config')
        .description('print the Dovecot configuration fragment (push_notification + Lua hook) for these settings')
        .option('--script <path>', 'the Lua script as Dovecot should load it (readable by the mail uid, not under /tmp)', `${DOVECOT_DIR}vmbridge.lua`)
        .option('--hook-timeout <ms>', 'how long Dovecot waits for vmbridge per transaction', '500');
    addConfigOptions(cmd).action(() => {
        const config = configFrom(cmd);
        const { script, hookTimeout } = cmd.opts<{ script: string; hookTimeout: string }>();
        const version = dovecotVersion();
        if (version && !version.startsWith('2.3')) process.stderr.write(`vmbridge: this fragment uses Dovecot 2.3 syntax; the installed Dovecot is ${version}\n`);
        const host = config.ingest.replace(/^(0\.0\.0\.0|\[::\]):/, '127.0.0.1:');
        const values: Record<string, string> = {
            SCRIPT: script,
            URL: `http://${host}/events`,
            TOKEN: loadOrCreateToken(config),
            TIMEOUT: String(Number(hookTimeout) || 500)
        };
        const template = readFileSync(`${DOVECOT_DIR}conf.d/95-vmbridge.conf`, 'utf8');
        process.stdout.write(template.replace(/@(\w+)@/g, (m, k: string) => values[k] ?? m));
    });
}

function dovecotVersion(): string | undefined {
    try {
        return execFileSync('dovecot', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
        return undefined;
    }
}
