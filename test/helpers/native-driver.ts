// The native push_notification driver (dovecot/native/) built for the machine's Dovecot into a
// temp module dir of its own: symlinks to every system module plus ours, so a test Dovecot loads
// it with `mail_plugin_dir` (what `vmbridge dovecot-config --module-dir` writes) and nothing is
// installed system-wide. Built once per test worker; the gcc + dovecot-dev packages come from
// test/setup/ensure-debian.mjs. For Dovecot 2.4 it is built inside the trixie root (its
// dovecot-dev, gcc, make) and installed there like `make install` does: the settings module must
// be in the root's fixed modules/settings/, where its config process looks.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hookFragmentFor, trixieRoot, type DovecotVersion } from './dovecot24.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SYSTEM_MODULES = '/usr/lib/dovecot/modules';
let built: string | undefined;

/** A module dir holding Dovecot's modules and lib22_push_notification_vmbridge_plugin.so. */
export function nativeModuleDir(): string {
    if (built) return built;
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-modules-'));
    chmodSync(dir, 0o755);
    for (const name of readdirSync(SYSTEM_MODULES)) symlinkSync(path.join(SYSTEM_MODULES, name), path.join(dir, name));
    execFileSync('make', ['-s', '-C', path.join(ROOT, 'dovecot/native'), `OUT=${dir}`], { stdio: ['ignore', 'ignore', 'inherit'] });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    built = dir;
    return dir;
}

export type Driver = 'lua' | 'native';

/** `vmbridge dovecot-config` flags that pick this driver (the native one from the temp module dir). */
export function driverArgs(driver: Driver): string[] {
    return driver === 'native' ? ['--driver', 'native', '--module-dir', nativeModuleDir()] : ['--driver', 'lua'];
}

let built24: Promise<string> | undefined;

/**
 * The trixie root's module dir (host path) with the driver built for its Dovecot 2.4 and
 * installed. Under a lock (test files of other workers do the same) and by rename, so a Dovecot
 * starting meanwhile loads the old file or the new one, never half of one.
 */
export function nativeModuleDir24(): Promise<string> {
    built24 ??= trixieRoot().then(root => {
        mkdirSync(path.join(root, 'srv'), { recursive: true });
        const dir = mkdtempSync(path.join(root, 'srv', 'vmb-native-build-'));
        try {
            cpSync(path.join(ROOT, 'dovecot/native'), path.join(dir, 'src'), { recursive: true, filter: f => !f.includes('/build') });
            const inside = dir.slice(root.length);
            const script = `set -e
make -s -C ${inside}/src OUT=${inside}/out
m=/usr/lib/dovecot/modules
for f in lib22_push_notification_vmbridge_plugin.so settings/libvmbridge_settings.so; do
  install -m 0644 ${inside}/out/$f $m/$f.tmp && mv -f $m/$f.tmp $m/$f
done`;
            execFileSync('flock', [path.join(root, 'srv', '.vmb-native.lock'), 'chroot', root, 'sh', '-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
        return path.join(root, 'usr/lib/dovecot/modules');
    });
    return built24;
}

/** driverArgs for a Dovecot of `version` (2.4: the module built and installed in the trixie root). */
export async function driverArgsFor(version: DovecotVersion, driver: Driver): Promise<string[]> {
    if (version === '2.3' || driver === 'lua') return driverArgs(driver);
    return ['--driver', 'native', '--module-dir', await nativeModuleDir24()];
}

/** A temp dir for sockets Dovecot reaches: inside the trixie root for 2.4 (it runs chrooted). */
export async function socketDir(version: DovecotVersion, prefix: string): Promise<string> {
    const dir = mkdtempSync(version === '2.4' ? path.join(await trixieRoot(), 'srv', prefix) : path.join(tmpdir(), prefix));
    chmodSync(dir, 0o755); // the mail uid reaches the socket
    return dir;
}

/** The fragment of `vmbridge dovecot-config --driver native` for `version`, plus `args`. */
export async function nativeFragment(version: DovecotVersion, args: string[]) {
    return hookFragmentFor(version, [...args, ...(await driverArgsFor(version, 'native'))]);
}
