#!/usr/bin/env node
// A minimal Debian 13 (trixie) root holding Dovecot 2.4, for running the Dovecot-side tests
// against 2.4 under chroot on this machine (Debian 12 ships 2.3). Built once with mmdebstrap into
// a cache directory keyed by the package list, and reused. A build runs under an exclusive lock
// (two test files never build at once) into a scratch directory that is renamed into place only
// when complete, so a half-built root is never used. Prints the root's path.
// `node test/setup/trixie-root.mjs` builds it when missing (npm's pretest does so).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SUITE = 'trixie';
// dovecot-dev, gcc, make, libc6-dev: the native driver (dovecot/native) is built inside the root for its 2.4.
export const PACKAGES = ['dovecot-core', 'dovecot-imapd', 'dovecot-lmtpd', 'dovecot-auth-lua', 'lua-socket', 'lua-luaossl', 'dovecot-dev', 'gcc', 'make', 'libc6-dev'];
const CACHE = process.env.VMBRIDGE_TEST_CACHE ?? '/var/cache/vmbridge-test';
const DONE = '.vmbridge-root-complete';

export function trixieRootPath() {
    const key = createHash('sha256')
        .update(`${SUITE}\n${PACKAGES.join(',')}`)
        .digest('hex')
        .slice(0, 12);
    return path.join(CACHE, `${SUITE}-root-${key}`);
}

/** The root's path; builds it first (under the lock) when there is no complete one. */
export function ensureTrixieRoot() {
    const root = trixieRootPath();
    if (existsSync(path.join(root, DONE))) return root;
    mkdirSync(CACHE, { recursive: true, mode: 0o755 });
    const partial = `${root}.partial`;
    // Under flock: the check again (another process may have finished meanwhile), then a clean
    // build into .partial, the completion mark, and an atomic rename.
    const script = `set -e
if [ -e "$1/${DONE}" ]; then exit 0; fi
rm -rf --one-file-system "$1" "$2"
mmdebstrap --quiet --variant=apt --include=${PACKAGES.join(',')} ${SUITE} "$2"
touch "$2/${DONE}"
mv "$2" "$1"`;
    const started = Date.now();
    execFileSync('flock', [path.join(CACHE, `${SUITE}-root.lock`), 'sh', '-c', script, 'sh', root, partial], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    });
    if (!existsSync(path.join(root, DONE))) throw new Error(`trixie root: ${root} not built`);
    process.stderr.write(`trixie root ready in ${Math.round((Date.now() - started) / 1000)} s: ${root}\n`);
    return root;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
    process.stdout.write(ensureTrixieRoot() + '\n');
}
