// What SIGHUP applies to a running process, and which changed options only a restart applies.
// The intake re-reads its policy (intake/server.ts reload); the log level is set in place; every
// other option was wired into a listener, pool or connection at start. An EnvironmentFile change
// is never seen here: systemd hands the environment over only when it starts the process.
import type { Config } from './config.js';
import { camelToFlag } from './config.js';

/** Options a SIGHUP applies (documented in docs/deploy.md, "Reloading"). */
export const RELOADED_ON_SIGHUP: readonly (keyof Config)[] = [
    'lmtpAccess',
    'smtpAccess',
    'untrusted',
    'tls',
    'tlsCert',
    'tlsKey',
    'maxConnections',
    'maxConnectionsPerIp',
    'recipientMap',
    'recipientMapServers',
    'recipientMapTimeout',
    'unknownRecipient',
    'smartHost',
    'classActions',
    'privateHeader',
    'authCacheTtl',
    'usernameFormat',
    'helloTimeout',
    'dataTimeout',
    'logLevel'
];

/** Flags whose value changed but that only take effect after a restart. */
export function needsRestart(before: Config, after: Config): string[] {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)] as (keyof Config)[]);
    return [...keys].filter(k => !RELOADED_ON_SIGHUP.includes(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k])).map(k => '--' + camelToFlag(k));
}
