// One webhook endpoint: POSTs `{"events":[…]}` batches read from the journal after the endpoint's
// own per-user cursor, so delivery is at-least-once and resumes after failures and restarts with
// nothing lost within the journal's retention (an endpoint whose cursor fell out of the journal
// gets the journal's `reset`, which is how its backlog stays bounded). A failing endpoint is
// retried with bounded exponential back-off and jitter, and disabled after sustained failure.
import type { EventType, NewmailEvent, VmEvent } from '../events/event.js';
import type { Logger } from '../log.js';
import { webhookDeliveries, webhookDisabled } from '../metrics.js';
import { backoffMs, type BackoffOptions } from './backoff.js';
import type { WebhookCursors } from './cursors.js';
import { signatureHeader, SIGNATURE_HEADER } from './sign.js';

export interface WebhookTarget {
    /** Stable name: the cursor and the failure state are kept under it. */
    id: string;
    url: string;
    secret: string;
    /** Only these types (a `reset` always goes out); all when absent. */
    types?: EventType[];
    /** A per-user webhook sees only this user's events. */
    user?: string;
    /** json (default): signed `{"events":[…]}` batches; ox: Dovecot's OX driver body, one PUT per newmail (ox.ts). */
    format?: 'json' | 'ox';
}

export interface WebhookLimits {
    batchMax: number;
    timeoutMs: number;
    backoff: BackoffOptions;
    /** Disabled after this many consecutive failures … */
    disableAfterFailures: number;
    /** … or after failing without a success for this long. */
    disableAfterMs: number;
}

/** The journal seen from an endpoint: events after `since` in order, or a reset (publish/journal.ts replay). */
export type JournalReader = (user: string, since: number, limit: number) => Promise<VmEvent[]>;

export interface EndpointOptions {
    limits: WebhookLimits;
    logger?: Logger;
    now?: () => number;
    /** Builds the ox body of a newmail (ox.ts; needs IMAP for from/subject/unseen). */
    ox?: (ev: NewmailEvent) => Promise<Record<string, unknown> | undefined>;
}

export class WebhookEndpoint {
    private readonly dirty = new Set<string>();
    private running = false;
    private stopped = false;
    private retry?: NodeJS.Timeout;
    private readonly now: () => number;

    constructor(
        private readonly target: WebhookTarget,
        private readonly read: JournalReader,
        private readonly cursors: WebhookCursors,
        private readonly opts: EndpointOptions
    ) {
        this.now = opts.now ?? Date.now;
    }

    get disabled(): boolean {
        return this.cursors.state(this.target.id).disabled;
    }

    /** Resumes every user this endpoint has a cursor for (after a restart). */
    start(): void {
        for (const { user } of this.cursors.users(this.target.id)) this.dirty.add(user);
        this.kick();
    }

    /** A sequenced event was journaled: deliver what follows the cursor. Unsequenced events are
     * not replayable; the `reset` that follows them in the journal tells the receiver. */
    emit(ev: VmEvent): void {
        if (this.stopped || ev.seq === undefined || (this.target.user !== undefined && ev.user !== this.target.user)) return;
        // A new user starts at the event that woke us, not at the beginning of the journal.
        if (this.cursors.get(this.target.id, ev.user) === undefined) this.cursors.set(this.target.id, ev.user, ev.seq - 1);
        this.dirty.add(ev.user);
        this.kick();
    }

    stop(): void {
        this.stopped = true;
        clearTimeout(this.retry);
    }

    /** Delivers what is pending unless busy, waiting to retry or disabled. */
    resume(): void {
        this.kick();
    }

    private kick(): void {
        if (this.running || this.retry || this.stopped || this.disabled) return;
        this.running = true;
        void this.drain().finally(() => (this.running = false));
    }

    private async drain(): Promise<void> {
        while (!this.stopped && this.dirty.size) {
            const user = this.dirty.values().next().value as string;
            this.dirty.delete(user);
            const more = await this.deliver(user).catch(() => undefined);
            if (this.stopped) return; // the store may be closed by now
            if (more === undefined) {
                this.dirty.add(user);
                this.failed();
                return;
            }
            if (more) this.dirty.add(user);
        }
    }

    /** One batch for one user: true when more may follow, undefined on failure. */
    private async deliver(user: string): Promise<boolean | undefined> {
        const since = this.cursors.get(this.target.id, user) ?? 0;
        const events = await this.read(user, since, this.opts.limits.batchMax);
        if (!events.length) return false;
        const next = Math.max(since, ...events.map(e => e.seq ?? 0));
        const wanted = events.filter(e => !this.target.types || e.type === 'reset' || this.target.types.includes(e.type));
        if (this.target.format === 'ox') {
            for (const ev of wanted) {
                const body = ev.type === 'newmail' && this.opts.ox ? await this.opts.ox(ev) : undefined;
                if (body && !(await this.post(JSON.stringify(body), 'PUT'))) return undefined;
            }
        } else if (wanted.length && !(await this.post(JSON.stringify({ events: wanted })))) return undefined;
        if (this.stopped) return false;
        this.cursors.set(this.target.id, user, next);
        this.succeeded();
        return events.length >= this.opts.limits.batchMax;
    }

    private async post(body: string, method = 'POST'): Promise<boolean> {
        const url = new URL(this.target.url);
        const headers: Record<string, string> = {
            'content-type': 'application/json',
            [SIGNATURE_HEADER]: signatureHeader(this.target.secret, body, Math.floor(this.now() / 1000))
        };
        // fetch refuses credentials in the URL: userinfo becomes Basic auth (OX-style receivers).
        if (url.username || url.password) {
            headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
            url.username = url.password = '';
        }
        try {
            const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.opts.limits.timeoutMs) });
            await res.body?.cancel();
            const ok = res.status >= 200 && res.status < 300;
            webhookDeliveries.inc({ result: ok ? 'ok' : 'failed' });
            return ok;
        } catch {
            webhookDeliveries.inc({ result: 'failed' });
            return false;
        }
    }

    private succeeded(): void {
        const s = this.cursors.state(this.target.id);
        if (s.failures) this.cursors.setState(this.target.id, { disabled: false, failures: 0, failingSince: 0 });
    }

    private failed(): void {
        const s = this.cursors.state(this.target.id);
        const failures = s.failures + 1;
        const failingSince = s.failingSince || this.now();
        const { limits } = this.opts;
        if (failures >= limits.disableAfterFailures || this.now() - failingSince >= limits.disableAfterMs) {
            this.cursors.setState(this.target.id, { disabled: true, failures, failingSince });
            webhookDisabled.inc();
            this.opts.logger?.warn(
                { webhook: this.target.id, failures, since: new Date(failingSince).toISOString() },
                `webhook ${this.target.id} disabled after ${failures} consecutive failures; re-enable with: vmbridge webhook enable ${this.target.id}`
            );
            return;
        }
        this.cursors.setState(this.target.id, { disabled: false, failures, failingSince });
        this.retry = setTimeout(
            () => {
                this.retry = undefined;
                this.kick();
            },
            backoffMs(failures, limits.backoff)
        );
    }
}
