// The key Dovecot hands the hook (vmbridge_key, as doveconf resolves it) is the ingest token.
// Neither is printed: the verdict says only whether they match.
import { readFileSync } from 'node:fs';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Config } from '../config.js';
import { message, misconfigured, ok, unavailable, type Check } from './check.js';
import { doveconf, hookSettings } from './doveconf.js';

/** The token serve would use, without creating one (serve and dovecot-config do that). */
export function readToken(config: Config): string | undefined {
    if (config.ingestToken) return config.ingestToken;
    try {
        return readFileSync(config.ingestTokenFile, 'utf8').trim() || undefined;
    } catch {
        return undefined;
    }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export const hookKey: Check = {
    name: 'hook-key',
    async run({ config, dovecotConf }) {
        const token = readToken(config);
        if (!token)
            return misconfigured(
                `no ingest token (--ingest-token, or the file ${config.ingestTokenFile})`,
                'start the bridge once (it creates the token file), then rerun vmbridge dovecot-config'
            );
        let key: string | undefined;
        try {
            key = hookSettings(await doveconf(dovecotConf)).key;
        } catch (err) {
            return unavailable(`doveconf: ${message(err).split('\n')[0]}`, 'see the dovecot-hook check');
        }
        if (!key)
            return misconfigured(
                'Dovecot has no vmbridge_key setting (the key file is missing or unreadable by Dovecot)',
                'rerun vmbridge dovecot-config with the same flags as serve, then systemctl reload dovecot'
            );
        if (!timingSafeEqual(digest(key), digest(token)))
            return misconfigured(
                "Dovecot's vmbridge_key differs from the ingest token",
                'rerun vmbridge dovecot-config with the same flags as serve (same --state-dir / --ingest-token-file), then systemctl reload dovecot'
            );
        return ok("Dovecot's vmbridge_key matches the ingest token");
    }
};
