// `vmbridge dovecot-config [serve flags]`: prints the Dovecot configuration fragment (the
// dovecot/conf.d/95-vmbridge.conf template filled in for this setup) on stdout, appendable to
// dovecot.conf or droppable into conf.d/. Same flags and token file as serve, so the two agree.
// The hook's transport follows --ingest: host:port → tcp://host:port, unix:<path> → that socket
// (both the fire-and-forget stream; Debian package lua-socket); --hook-transport http keeps the
// synchronous POST (no extra package, but every IMAP command and delivery waits for vmbridge).
// The token never appears in the output: it goes into --dovecot-key-file (0640 root:dovecot),
// which the fragment pulls in with !include_try (state/token.ts).
// Dovecot 2.3 and 2.4 differ in syntax (2.4: mail_plugins { x = yes }, push_notification lua
// { lua_settings { } }): the form follows `dovecot --version`, or --dovecot-version.
// --driver auto (default) writes the native driver's form (95-vmbridge-native.conf, on 2.4
// 95-vmbridge-2.4-native.conf) when its module is built for the installed Dovecot
// (dovecot-native.ts), else the Lua script's.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { dovecotKeyFile, loadOrCreateToken, writeDovecotKeyFile } from '../state/token.js';
import { EX, ExitError } from './exit.js';
import { addConfigOptions, configFrom } from './serve.js';
import { dialable, formatHostPort, type ListenAddress } from '../net/address.js';
import { DEFAULT_MODULE_DIR, pickDriver } from './dovecot-native.js';

const DOVECOT_DIR = fileURLToPath(new URL('../../dovecot/', import.meta.url));

export function register(program: Command): void {
    const cmd = program
        .command('dovecot-config')
        .description('print the Dovecot configuration fragment (push_notification + Lua hook) for these settings')
        .option('--script <path>', 'the Lua script as Dovecot should load it (readable by the mail uid, not under /tmp)', `${DOVECOT_DIR}vmbridge.lua`)
        .option('--hook-transport <stream|http>', 'stream: fire-and-forget over --ingest (needs lua-socket); http: synchronous POST', 'stream')
        .option('--hook-timeout <ms>', 'longest wait per transaction inside Dovecot (default: stream 20, http 500)')
        .option('--dovecot-version <2.3|2.4>', 'the Dovecot syntax to write (default: from `dovecot --version`, else 2.3)')
        .option(
            '--driver <native|lua|auto>',
            'push_notification driver: native (dovecot/native, one connection per Dovecot process), lua (no compiler needed), auto: native when built for this Dovecot',
            'auto'
        )
        .option('--module-dir <dir>', "where Dovecot loads plugins from (mail_plugin_dir); written into the fragment when not Debian's", DEFAULT_MODULE_DIR);
    addConfigOptions(cmd).action(() => {
        const config = configFrom(cmd);
        const {
            script,
            hookTransport,
            hookTimeout,
            dovecotVersion: wanted,
            driver: wantedDriver,
            moduleDir
        } = cmd.opts<{
            script: string;
            hookTransport: string;
            hookTimeout?: string;
            dovecotVersion?: string;
            driver: string;
            moduleDir: string;
        }>();
        if (hookTransport !== 'stream' && hookTransport !== 'http') throw new ExitError(EX.USAGE, 'invalid option --hook-transport: expected stream or http');
        const form = syntaxFor(wanted);
        const http = hookTransport === 'http';
        const url = hookUrl(config.ingest, http);
        const driver = pickDriver({ wanted: wantedDriver, moduleDir, form, dovecotVersion: dovecotVersion(), url });
        const keyFile = dovecotKeyFile(config);
        const created = !config.ingestToken && !existsSync(config.ingestTokenFile);
        writeDovecotKeyFile(keyFile, loadOrCreateToken(config), form, driver);
        if (created) warnTokenOwner(config.ingestTokenFile);
        const values: Record<string, string> = {
            SCRIPT: script,
            URL: url,
            KEYFILE: keyFile,
            TIMEOUT: String(Number(hookTimeout) || (http ? 500 : 20)),
            PLUGINDIR: path.resolve(moduleDir) === DEFAULT_MODULE_DIR ? '' : `mail_plugin_dir = ${path.resolve(moduleDir)}\n`
        };
        const file = `95-vmbridge${form === '2.4' ? '-2.4' : ''}${driver === 'native' ? '-native' : ''}.conf`;
        const template = readFileSync(`${DOVECOT_DIR}conf.d/${file}`, 'utf8');
        process.stdout.write(template.replace(/@(\w+)@/g, (m, k: string) => values[k] ?? m));
    });
}

function hookUrl(ingest: ListenAddress, http: boolean): string {
    const at = dialable(ingest);
    if ('path' in at) {
        if (http) throw new ExitError(EX.USAGE, 'invalid option --hook-transport: http needs --ingest host:port');
        return `unix:${path.resolve(at.path)}`; // Dovecot resolves nothing against our cwd
    }
    const host = formatHostPort(at);
    return http ? `http://${host}/events` : `tcp://${host}`;
}

/** 2.3 or 2.4 syntax: the flag, else the installed Dovecot (2.4 and later share 2.4's), else 2.3. */
function syntaxFor(wanted: string | undefined): '2.3' | '2.4' {
    if (wanted !== undefined) {
        if (wanted !== '2.3' && wanted !== '2.4') throw new ExitError(EX.USAGE, 'invalid option --dovecot-version: expected 2.3 or 2.4');
        return wanted;
    }
    const version = dovecotVersion();
    const m = version?.match(/^(\d+)\.(\d+)/);
    if (!m) return '2.3';
    const [major, minor] = [Number(m[1]), Number(m[2])];
    if (major === 2 && minor < 3) process.stderr.write(`vmbridge: Dovecot ${version} is older than 2.3; writing 2.3 syntax\n`);
    return major > 2 || (major === 2 && minor >= 4) ? '2.4' : '2.3';
}

function dovecotVersion(): string | undefined {
    try {
        return execFileSync('dovecot', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
        return undefined;
    }
}

/** The token was created here, before serve ever ran: say who owns it, so a root-owned one is no surprise. */
function warnTokenOwner(file: string): void {
    const { uid } = statSync(file);
    const note =
        uid === 0 && process.getuid?.() === 0
            ? ' owned by root: chown it to the user the bridge runs as, or create the state directory owned by that user first'
            : ` (owner uid ${uid}, as its directory)`;
    process.stderr.write(`vmbridge: created the ingest token ${file}${note}\n`);
}
