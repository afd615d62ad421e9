// What the `ready` log line says this process is wired to: version and every downstream, with
// credentials stripped (log files are read by more people than the config is).
import type { Config } from './config.js';
import { VERSION } from './version.js';

/** A URL without its user:password part; a value that is no URL is returned as is. */
export function withoutCredentials(url: string): string {
    try {
        const u = new URL(url);
        if (!u.username && !u.password) return url;
        u.username = '';
        u.password = '';
        return u.toString();
    } catch {
        return url;
    }
}

export function wiring(config: Config): Record<string, string> {
    return {
        version: VERSION,
        deliver: config.deliver.text,
        resolver: config.resolver.text,
        imap: config.imap ? withoutCredentials(config.imap.text) : 'off',
        ami: config.ami ? withoutCredentials(config.ami.text) : 'off',
        hookTransport: config.ingest.path !== undefined ? 'unix' : 'tcp',
        hook: config.hook
    };
}
