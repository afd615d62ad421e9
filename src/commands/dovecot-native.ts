// Which push_notification driver `vmbridge dovecot-config` writes: the native one
// (dovecot/native/, lib22_push_notification_vmbridge_plugin.so: one connection per Dovecot process,
// no body snippet — bench/dovecot-cost.md) when it is built for the Dovecot that will load it,
// else the Lua script, which needs no compiler. A module is "for" a Dovecot when the ABI string
// compiled into it names that Dovecot's version: Dovecot refuses to load any other.
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { EX, ExitError } from './exit.js';

export const NATIVE_MODULE = 'lib22_push_notification_vmbridge_plugin.so';
/** Debian's dovecot_moduledir (/usr/lib/dovecot/dovecot-config), where `make -C dovecot/native install` puts it. */
export const DEFAULT_MODULE_DIR = '/usr/lib/dovecot/modules';

export type Driver = 'native' | 'lua';

/** The version inside the module's DOVECOT_ABI_VERSION ("2.3.ABIv19(2.3.19.1)" → "2.3.19.1"). */
export function moduleDovecotVersion(file: string): string | undefined {
    if (!existsSync(file)) return undefined;
    return /\d+\.\d+\.ABIv\d+\((\d+(?:\.\d+)+)\)/.exec(readFileSync(file).toString('latin1'))?.[1];
}

export function pickDriver(opts: { wanted: string; moduleDir: string; form: '2.3' | '2.4'; dovecotVersion?: string; url: string }): Driver {
    const { wanted } = opts;
    if (wanted !== 'auto' && wanted !== 'native' && wanted !== 'lua') throw new ExitError(EX.USAGE, 'invalid option --driver: expected native, lua or auto');
    if (wanted === 'lua') return 'lua';
    const why = nativeRefusal(opts);
    if (why === undefined) return 'native';
    if (wanted === 'native') throw new ExitError(EX.CONFIG, `--driver native: ${why}`);
    return 'lua';
}

/** Why the native driver cannot serve this setup, or undefined when it can. */
function nativeRefusal(opts: { moduleDir: string; form: '2.3' | '2.4'; dovecotVersion?: string; url: string }): string | undefined {
    if (opts.form !== '2.3') return 'the native driver is built for Dovecot 2.3 only (2.4 keeps the Lua script)';
    if (opts.url.startsWith('http')) return 'the native driver speaks the stream transport only (--hook-transport stream)';
    const tcp = /^tcp:\/\/\[?([^\]]+?)\]?:\d+$/.exec(opts.url);
    if (tcp && !net.isIP(tcp[1])) return 'the native driver needs a numeric --ingest address';
    const file = path.join(opts.moduleDir, NATIVE_MODULE);
    const built = moduleDovecotVersion(file);
    if (!built) return `${file} is not installed (make -C dovecot/native install)`;
    const running = opts.dovecotVersion?.split(/\s/)[0];
    if (running && running !== built) return `${file} is built for Dovecot ${built}, the installed one is ${running} (rebuild: make -C dovecot/native install)`;
    return undefined;
}
