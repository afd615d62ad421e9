// App tokens for the client listener: `vmbridge token create|list|revoke`. Only SHA-256 of the
// random secret is stored (in the state directory's state.db), so a copy of the database grants
// nothing. serve looks a token up on every request (one indexed read), so a revocation made by
// the CLI in another process counts from the next request, not after a cache expires.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, chmodSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_BUSY_TIMEOUT_MS } from '../limits.js';

export interface AppToken {
    id: string;
    user: string;
    admin: boolean;
    created: number;
    /** ms since the epoch; undefined: never */
    expires?: number;
}

interface Row {
    id: string;
    user: string;
    admin: number;
    created: number;
    expires: number | null;
}

/** Tokens look like `vmb_<id>_<secret>`: the id lets `list`/`revoke` name one without the secret. */
const PREFIX = 'vmb_';

export class TokenStore {
    private readonly db: Database.Database;

    /** Opens (creating) <stateDir>/state.db without claiming it: serve and the CLI share the file (WAL). */
    constructor(stateDir: string) {
        if (stateDir === ':memory:') this.db = new Database(':memory:');
        else {
            const dir = path.resolve(stateDir);
            mkdirSync(dir, { recursive: true, mode: 0o750 });
            const file = path.join(dir, 'state.db');
            this.db = new Database(file);
            chmodSync(file, 0o600);
        }
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
        this.db.exec(`CREATE TABLE IF NOT EXISTS app_tokens (
            id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, user TEXT NOT NULL,
            admin INTEGER NOT NULL, created INTEGER NOT NULL, expires INTEGER)`);
    }

    /** A new token; the secret is returned once and never stored. */
    create(user: string, opts: { admin?: boolean; expiresMs?: number } = {}, now = Date.now()): { token: string; info: AppToken } {
        const id = randomBytes(6).toString('hex');
        const token = `${PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
        const expires = opts.expiresMs ? now + opts.expiresMs : null;
        this.db
            .prepare('INSERT INTO app_tokens (id, hash, user, admin, created, expires) VALUES (?, ?, ?, ?, ?, ?)')
            .run(id, digest(token), user, opts.admin ? 1 : 0, now, expires);
        return { token, info: toToken({ id, user, admin: opts.admin ? 1 : 0, created: now, expires }) };
    }

    /** The token a secret belongs to, if it exists and has not expired. */
    verify(secret: string, now = Date.now()): AppToken | undefined {
        if (!secret.startsWith(PREFIX) || secret.length > 200) return undefined;
        const row = this.db.prepare('SELECT id, user, admin, created, expires FROM app_tokens WHERE hash = ?').get(digest(secret)) as Row | undefined;
        if (!row || (row.expires !== null && row.expires <= now)) return undefined;
        return toToken(row);
    }

    list(): AppToken[] {
        return (this.db.prepare('SELECT id, user, admin, created, expires FROM app_tokens ORDER BY created').all() as Row[]).map(toToken);
    }

    /** true when a token with this id existed. */
    revoke(id: string): boolean {
        return this.db.prepare('DELETE FROM app_tokens WHERE id = ?').run(id).changes > 0;
    }

    close(): void {
        this.db.close();
    }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function toToken(r: Row): AppToken {
    return { id: r.id, user: r.user, admin: r.admin === 1, created: r.created, ...(r.expires !== null ? { expires: r.expires } : {}) };
}

/** `30d`, `12h`, `45m`, `90s` → ms. */
export function parseDuration(v: string): number {
    const m = /^(\d+)([smhd])$/.exec(v.trim());
    if (!m || Number(m[1]) <= 0) throw new Error('expected a duration such as 90s, 45m, 12h or 30d');
    return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
