// The ingest token: --ingest-token, or one generated once into --ingest-token-file (mode 0600)
// that serve and dovecot-config both read, so the Dovecot snippet and the bridge always agree.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';

export function loadOrCreateToken(config: Pick<Config, 'ingestToken' | 'ingestTokenFile'>): string {
    if (config.ingestToken) return config.ingestToken;
    try {
        const existing = readFileSync(config.ingestTokenFile, 'utf8').trim();
        if (existing.length >= 32) return existing;
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const token = randomBytes(24).toString('base64url'); // 32 characters
    mkdirSync(path.dirname(path.resolve(config.ingestTokenFile)), { recursive: true });
    writeFileSync(config.ingestTokenFile, token + '\n', { mode: 0o600 });
    return token;
}
