// Which push_notification driver `vmbridge dovecot-config` writes: the native one
// (dovecot/native/, lib22_push_notification_vmbridge_plugin.so: one connection per Dovecot process,
// no body snippet — bench/dovecot-cost.md) when it is built for the Dovecot that will load it,
// else the Lua script, which needs no compiler. A module is "for" a Dovecot when the ABI string
// compiled into it names that Dovecot's version: Dovecot refuses to load any other. 2.4's ABI
// string names the minor version only ("2.4.ABIv1"), and on 2.4 the config process also needs
// settings/libvmbridge_settings.so (the driver's settings) in the module dir.
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { EX, ExitError } from './exit.js';

export const NATIVE_MODULE = 'lib22_push_notification_vmbridge_plugin.so';
/** Dovecot 2.4: the module that declares the driver's settings to the config process. */
export const NATIVE_SETTINGS_MODULE = 'settings/libvmbridge_settings.so';
/** Debian's dovecot_moduledir (/usr/lib/dovecot/dovecot-config), where `make -C dovecot/native install` puts it. */
export const DEFAULT_MODULE_DIR = '/usr/lib/dovecot/modules';

export type Driver = 'native' | 'lua';

/** The version inside the module's DOVECOT_ABI_VERSION ("2.3.ABIv19(2.3.19.1)" → "2.3.19.1", "2.4.ABIv1" → "2.4"). */
export function moduleDovecotVersion(file: string): string | undefined {
    if (!existsSync(file)) return undefined;
    const m = /(\d+\.\d+)\.ABIv\d+(?:\((\d+(?:\.\d+)+)\))?\0/.exec(readFileSync(file).toString('latin1'));
    return m ? (m[2] ?? m[1]) : undefined;
}

/** The config syntax a Dovecot version takes: 2.4 from 2.4 on. */
export function formOf(version: string): '2.3' | '2.4' {
    const [major, minor] = version.split('.').map(Number);
    return major > 2 || (major === 2 && minor >= 4) ? '2.4' : '2.3';
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
    if (opts.url.startsWith('http')) return 'the native driver speaks the stream transport only (--hook-transport stream)';
    const tcp = /^tcp:\/\/\[?([^\]]+?)\]?:\d+$/.exec(opts.url);
    if (tcp && !net.isIP(tcp[1])) return 'the native driver needs a numeric --ingest address';
    const file = path.join(opts.moduleDir, NATIVE_MODULE);
    const built = moduleDovecotVersion(file);
    if (!built) return `${file} is not installed (make -C dovecot/native install)`;
    if (formOf(built) !== opts.form) return `${file} is built for Dovecot ${built}, not for the ${opts.form} configuration asked for (rebuild: make -C dovecot/native install)`;
    // The installed Dovecot is compared only when it is the one configured (--dovecot-version may
    // name another, e.g. one in a chroot). 2.4's ABI names no micro version: 2.4 serves 2.4.x.
    const running = opts.dovecotVersion?.split(/\s/)[0];
    if (running && formOf(running) === opts.form && running !== built && !running.startsWith(`${built}.`))
        return `${file} is built for Dovecot ${built}, the installed one is ${running} (rebuild: make -C dovecot/native install)`;
    const settings = path.join(opts.moduleDir, NATIVE_SETTINGS_MODULE);
    if (opts.form === '2.4' && !existsSync(settings)) return `${settings} is not installed (make -C dovecot/native install)`;
    return undefined;
}
