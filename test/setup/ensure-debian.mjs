#!/usr/bin/env node
// `npm test` runs this first: the suite needs real Dovecot, memcached (and, for the deployment
// tests, Postfix and swaks) from Debian. Installs what is missing when root; otherwise stops and
// names the packages, so no test is ever skipped silently for a missing service.
import { execFileSync, spawnSync } from 'node:child_process';
import { ensureTrixieRoot } from './trixie-root.mjs';

const PACKAGES = [
    'dovecot-core',
    'dovecot-lmtpd',
    'dovecot-imapd',
    'dovecot-auth-lua',
    'memcached',
    'lua-socket',
    'lua-luaossl',
    'postfix',
    'swaks',
    'systemd',
    'libnanomsg-dev',
    'libmemcached-dev',
    'gcc',
    'make',
    'dovecot-dev', // builds dovecot/native (the native push_notification driver) for tests and bench
    'strace', // test/events/native-after-reply.test.ts: the order of the native driver's writes
    'mmdebstrap',
    'chromium',
    'prometheus'
];

function installed(pkg) {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
    return r.status === 0 && r.stdout.includes('install ok installed');
}

const missing = PACKAGES.filter(p => !installed(p));
// Dovecot 2.4 for the tests that run against both versions: a trixie root (trixie-root.mjs).
const trixieRoot = () => process.getuid?.() === 0 && ensureTrixieRoot();
if (missing.length === 0) {
    trixieRoot();
    process.exit(0);
}

if (process.getuid?.() !== 0) {
    console.error(`vmbridge tests need these Debian packages: ${missing.join(' ')}\nInstall them (as root: apt-get install -y ${missing.join(' ')}) and run npm test again.`);
    process.exit(69);
}
console.error(`installing Debian packages the tests need: ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const run = (cmd, args, input) => execFileSync(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'inherit', 'inherit'], env, input });
// Postfix asks a debconf question on install; answer it so nothing waits on a terminal.
run('debconf-set-selections', [], 'postfix postfix/main_mailer_type select No configuration\n');
run('apt-get', ['update', '-qq']);
// policy-rc.d-style environments refuse to start services; the tests start their own instances.
run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing]);
trixieRoot();
