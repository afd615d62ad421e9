// Per-user webhooks in the state directory's SQLite store. The secret is generated here and shown
// once on creation; it is kept (it must be, to sign) in state.db, which is 0600.
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EVENT_TYPES } from '../events/event.js';
import type { StateDb } from '../state/db.js';
import type { WebhookTarget } from './endpoint.js';
import { userTargetProblem } from './target-policy.js';

export const WebhookSpecSchema = z.object({
    url: z.string().min(1).max(2048),
    types: z.array(z.enum(EVENT_TYPES)).nonempty().optional()
});
export type WebhookSpec = z.infer<typeof WebhookSpecSchema>;

export interface WebhookInfo {
    id: string;
    user: string;
    url: string;
    types?: string[];
    created: string;
}

export class WebhookSpecError extends Error {}

export class WebhookStore {
    private readonly q;

    constructor(
        db: StateDb,
        private readonly opts: { allowPrivate?: boolean } = {},
        private readonly changed: () => void = () => undefined
    ) {
        db.exec(`CREATE TABLE IF NOT EXISTS webhook (id TEXT PRIMARY KEY, user TEXT NOT NULL, url TEXT NOT NULL, types TEXT, secret TEXT NOT NULL, created TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS webhook_user ON webhook (user);`);
        this.q = {
            insert: db.prepare('INSERT INTO webhook (id, user, url, types, secret, created) VALUES (?, ?, ?, ?, ?, ?)'),
            list: db.prepare<[string], Row>('SELECT * FROM webhook WHERE user = ? ORDER BY created'),
            all: db.prepare<[], Row>('SELECT * FROM webhook ORDER BY created'),
            delete: db.prepare('DELETE FROM webhook WHERE user = ? AND id = ?')
        };
    }

    /** Validates the spec (URL policy included) and returns the webhook with its secret, shown once. */
    create(user: string, spec: unknown): WebhookInfo & { secret: string } {
        const parsed = WebhookSpecSchema.safeParse(spec);
        if (!parsed.success) throw new WebhookSpecError('invalid webhook: give {"url": "https://…", "types": ["newmail", …]}');
        const problem = userTargetProblem(parsed.data.url, this.opts.allowPrivate ?? false);
        if (problem) throw new WebhookSpecError(`webhook url ${problem}`);
        const info = { id: `wh_${randomUUID()}`, user, url: parsed.data.url, types: parsed.data.types, created: new Date().toISOString() };
        const secret = `whsec_${randomBytes(24).toString('base64url')}`;
        this.q.insert.run(info.id, user, info.url, info.types ? JSON.stringify(info.types) : null, secret, info.created);
        this.changed();
        return { ...info, secret };
    }

    list(user: string): WebhookInfo[] {
        return this.q.list.all(user).map(info);
    }

    /** True when the user had that webhook. */
    delete(user: string, id: string): boolean {
        const gone = this.q.delete.run(user, id).changes > 0;
        if (gone) this.changed();
        return gone;
    }

    /** Every per-user webhook as a delivery target (the bridge starts one endpoint each). */
    targets(): WebhookTarget[] {
        return this.q.all.all().map(r => ({ id: r.id, url: r.url, secret: r.secret, user: r.user, types: r.types ? JSON.parse(r.types) : undefined }));
    }
}

interface Row {
    id: string;
    user: string;
    url: string;
    types: string | null;
    secret: string;
    created: string;
}

function info(r: Row): WebhookInfo {
    return { id: r.id, user: r.user, url: r.url, ...(r.types ? { types: JSON.parse(r.types) } : {}), created: r.created };
}
