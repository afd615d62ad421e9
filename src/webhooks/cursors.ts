// Where each webhook endpoint has got to, per user, in the state directory's SQLite store: a
// restarted bridge resumes every endpoint from its own cursor, so nothing within the journal's
// retention is lost; failure bookkeeping survives too, so a restart does not forgive an endpoint.
import type { StateDb } from '../state/db.js';

export interface EndpointState {
    disabled: boolean;
    failures: number;
    /** When the current run of failures began, ms (0 when the last attempt succeeded). */
    failingSince: number;
}

export class WebhookCursors {
    private readonly q;

    constructor(db: StateDb) {
        db.exec(`CREATE TABLE IF NOT EXISTS webhook_cursor (endpoint TEXT NOT NULL, user TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (endpoint, user)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS webhook_state (endpoint TEXT PRIMARY KEY, disabled INTEGER NOT NULL, failures INTEGER NOT NULL, failing_since INTEGER NOT NULL) WITHOUT ROWID;`);
        this.q = {
            get: db.prepare<[string, string], { seq: number }>('SELECT seq FROM webhook_cursor WHERE endpoint = ? AND user = ?'),
            users: db.prepare<[string], { user: string; seq: number }>('SELECT user, seq FROM webhook_cursor WHERE endpoint = ?'),
            set: db.prepare('INSERT INTO webhook_cursor (endpoint, user, seq) VALUES (?, ?, ?) ON CONFLICT (endpoint, user) DO UPDATE SET seq = excluded.seq'),
            state: db.prepare<[string], { disabled: number; failures: number; failing_since: number }>(
                'SELECT disabled, failures, failing_since FROM webhook_state WHERE endpoint = ?'
            ),
            setState: db.prepare('INSERT OR REPLACE INTO webhook_state (endpoint, disabled, failures, failing_since) VALUES (?, ?, ?, ?)')
        };
    }

    /** The last seq delivered to this endpoint for this user (undefined: never). */
    get(endpoint: string, user: string): number | undefined {
        return this.q.get.get(endpoint, user)?.seq;
    }

    users(endpoint: string): { user: string; seq: number }[] {
        return this.q.users.all(endpoint);
    }

    set(endpoint: string, user: string, seq: number): void {
        this.q.set.run(endpoint, user, seq);
    }

    state(endpoint: string): EndpointState {
        const r = this.q.state.get(endpoint);
        return r ? { disabled: r.disabled === 1, failures: r.failures, failingSince: r.failing_since } : { disabled: false, failures: 0, failingSince: 0 };
    }

    /** What `vmbridge webhook enable` does: failures forgiven, delivery resumes from the cursor. */
    enable(endpoint: string): void {
        this.setState(endpoint, { disabled: false, failures: 0, failingSince: 0 });
    }

    setState(endpoint: string, s: EndpointState): void {
        this.q.setState.run(endpoint, s.disabled ? 1 : 0, s.failures, s.failingSince);
    }
}
