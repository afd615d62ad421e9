// Dovecot's effective configuration as `doveconf -P` prints it (includes resolved, secrets shown:
// never printed by the doctor, only compared), and the vmbridge settings read out of it in
// either syntax: 2.3 `push_notification_driver = lua:file=…` with plugin { vmbridge_* }, 2.4
// `push_notification lua { lua_file = … lua_settings { vmbridge_* } }`, and the native driver's
// (dovecot/native/): 2.3 `push_notification_driver = vmbridge:url=…` with plugin { vmbridge_* },
// 2.4 `push_notification vmbridge { push_notification_vmbridge_url = … }` (and _key), which
// doveconf prints shortened inside the block (`url = …`).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DOVECONF_MAX_OUTPUT_BYTES } from '../limits.js';

export interface HookSettings {
    form?: '2.3' | '2.4';
    script?: string;
    url?: string;
    key?: string;
    /** push_notification_lua is among some protocol's mail_plugins. */
    plugin: boolean;
    /** The native driver is configured: its url, whether push_notification_vmbridge is loaded, and where modules come from. */
    native?: { url: string; plugin: boolean; moduleDir?: string };
}

const cache = new Map<string, Promise<string>>();

/** `doveconf -c <conf> -P`, once per file per run. */
export function doveconf(conf: string): Promise<string> {
    let p = cache.get(conf);
    if (!p) {
        p = promisify(execFile)('doveconf', ['-c', conf, '-P'], { maxBuffer: DOVECONF_MAX_OUTPUT_BYTES }).then(r => r.stdout);
        cache.set(conf, p);
    }
    return p;
}

export function hookSettings(text: string): HookSettings {
    const setting = (name: string) => new RegExp(`^\\s*${name}\\s*=\\s*(.*?)\\s*$`, 'm').exec(text)?.[1] || undefined;
    const old = /^\s*push_notification_driver\d*\s*=\s*lua:file=(\S+)/m.exec(text);
    const block = /^\s*push_notification lua \{[^]*?^\s*lua_file\s*=\s*(\S+)/m.exec(text);
    const native24 = (name: string) => new RegExp(`^\\s*push_notification vmbridge \\{[^}]*?^\\s*(?:push_notification_vmbridge_)?${name}\\s*=\\s*(\\S+)`, 'm').exec(text);
    const native = /^\s*push_notification_driver\d*\s*=\s*vmbridge:url=(\S+)/m.exec(text) ?? native24('url');
    const withoutDrivers = text.replace(/^\s*push_notification_driver.*$/gm, '');
    return {
        ...(native ? { native: { url: native[1], plugin: /push_notification_vmbridge(?!_)\b/.test(withoutDrivers), moduleDir: setting('mail_plugin_dir') } } : {}),
        form: old ? '2.3' : block ? '2.4' : undefined,
        script: old?.[1] ?? block?.[1],
        url: setting('vmbridge_url'),
        key: setting('vmbridge_key') ?? native24('key')?.[1],
        plugin: /push_notification_lua/.test(withoutDrivers)
    };
}
