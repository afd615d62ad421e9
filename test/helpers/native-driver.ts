// The native push_notification driver (dovecot/native/) built for the machine's Dovecot into a
// temp module dir of its own: symlinks to every system module plus ours, so a test Dovecot loads
// it with `mail_plugin_dir` (what `vmbridge dovecot-config --module-dir` writes) and nothing is
// installed system-wide. Built once per test worker; the gcc + dovecot-dev packages come from
// test/setup/ensure-debian.mjs.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
