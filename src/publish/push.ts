// Pusher: the EventSink that sends every event to the endpoints resolved for its user, over
// nanomsg PUSH. emit() returns at once; per user, events wait in a bounded list while one lookup
// runs, and the next lookup serves everything that arrived meanwhile (so a slow memcached costs
// one bounded lookup per burst, not per event, and a user's frames keep their order).
import type { NewmailEvent, VmEvent } from '../events/event.js';
import type { EventSink } from '../events/sink.js';
import type { Logger } from '../log.js';
import type { Endpoint, Resolver } from '../resolve/resolver.js';
import { PushEndpoint, countDrop, type EndpointOptions } from './endpoint.js';
import { FolderNames, type FolderName } from './folders.js';
import { forOpenChange, frameFor, type OpenChangeOptions } from './payload.js';
import { SentCopies, type UidLookup } from './uid-lookup.js';
import { PUSH_BACKOFF_MAX_MS, PUSH_BACKOFF_MIN_MS, PUSH_IDLE_MS, PUSH_QUEUE_LIMIT, PUSH_SEND_TIMEOUT_MS, PUSH_PENDING_LIMIT } from '../limits.js';

export interface PusherOptions extends Partial<OpenChangeOptions>, Partial<Omit<EndpointOptions, 'logger'>> {
    resolver: Resolver;
    logger?: Logger;
    /** Where folder names and separators for OpenChange payloads come from (default: none learned). */
    folders?: FolderNames;
    /** Finds Dovecot's uid over IMAP for a newmail that came without it (OpenChange needs it). */
    uids?: UidLookup;
    /** Events waiting for one user's lookup before new ones are dropped (default 10 000). */
    pendingLimit?: number;
}

const NO_FOLDER: FolderName = { folder: '', separator: '.' };

export class Pusher implements EventSink {
    private readonly oc: OpenChangeOptions;
    private readonly folders: FolderNames;
    private readonly sentCopies = new SentCopies();
    private readonly epOpts: EndpointOptions;
    private readonly endpoints = new Map<string, PushEndpoint>();
    private readonly pending = new Map<string, VmEvent[]>();
    /** Lookups started when a user's seqs were allocated (prepare), for that user's next drain. */
    private readonly prepared = new Map<string, Promise<Endpoint[]>>();
    private readonly running = new Set<Promise<void>>();
    private closed = false;

    constructor(private readonly opts: PusherOptions) {
        this.oc = { backend: opts.backend ?? 'sogo' };
        this.folders = opts.folders ?? new FolderNames();
        this.epOpts = {
            queueLimit: opts.queueLimit ?? PUSH_QUEUE_LIMIT,
            sendTimeoutMs: opts.sendTimeoutMs ?? PUSH_SEND_TIMEOUT_MS,
            idleMs: opts.idleMs ?? PUSH_IDLE_MS,
            backoffMinMs: opts.backoffMinMs ?? PUSH_BACKOFF_MIN_MS,
            backoffMaxMs: opts.backoffMaxMs ?? PUSH_BACKOFF_MAX_MS,
            logger: opts.logger
        };
    }

    /** Starts the user's endpoint lookup for events being numbered, so pushing them waits for one
     * memcached round trip less. Called once their seqs are allocated, or once the allocation is
     * sent when the lookup goes out on the same connection behind it (EventFront.shareMemcached):
     * not earlier, because a lookup memcached answers after the allocation sees every subscriber
     * whose stream expects those seqs (subscribe() registers first, then anchors at the journal's
     * newest seq). */
    prepare(user: string): void {
        if (this.closed) return;
        // Busy with this user: the drain looks up again for what queues meanwhile (no lookup per
        // sequencer batch under load).
        if (this.pending.has(user)) return void this.prepared.delete(user);
        this.prepared.set(user, this.resolve(user));
    }

    emit(ev: VmEvent): void {
        if (this.closed) return;
        const queued = this.pending.get(ev.user);
        if (queued) {
            // Oldest first out: the newest event's seq lets the subscriber see (and fill) the gap.
            if (queued.length >= (this.opts.pendingLimit ?? PUSH_PENDING_LIMIT)) {
                queued.shift();
                countDrop('queue_full');
            }
            queued.push(ev);
            return;
        }
        this.pending.set(ev.user, [ev]);
        // From a microtask: the rest of the sequencer's batch (emitted in this same loop) joins
        // this drain and its one lookup, instead of waiting for a second one.
        const run = Promise.resolve(ev.user)
            .then(user => this.drain(user))
            .finally(() => this.running.delete(run));
        this.running.add(run);
    }

    /** Push endpoints with an open socket (the subscribers gauge). */
    get endpointCount(): number {
        return this.endpoints.size;
    }

    /** Resolves once the events emitted so far have been handed to their sockets. */
    async flush(): Promise<void> {
        while (this.running.size) await Promise.allSettled([...this.running]);
    }

    async close(): Promise<void> {
        this.closed = true;
        await this.flush();
        this.prepared.clear();
        for (const ep of this.endpoints.values()) ep.close();
        this.endpoints.clear();
    }

    private async drain(user: string): Promise<void> {
        for (;;) {
            const queued = this.pending.get(user);
            if (!queued?.length) {
                this.pending.delete(user);
                return;
            }
            const batch = queued.splice(0);
            // The newest prepared lookup started after every queued event's seqs were allocated.
            const early = this.prepared.get(user);
            this.prepared.delete(user);
            const eps = await (early ?? this.resolve(user));
            const oc = eps.some(e => e.kind === 'openchange');
            for (const ev of batch) {
                if (!oc || !forOpenChange(ev)) {
                    for (const ep of eps) this.sendTo(ep, ev, NO_FOLDER);
                    continue;
                }
                const mailbox = ev.mailbox ?? 'INBOX';
                const [folder, at] = await Promise.all([this.folders.resolve(user, mailbox), this.uidOf(ev, mailbox)]);
                // One NewMail per stored copy for OpenChange, whichever event brought its uid first.
                const once = !at || this.sentCopies.first(user, mailbox, at.uid, at.uidValidity);
                const forOc = at && at.uid !== ev.uid ? { ...ev, uid: at.uid } : ev;
                for (const ep of eps) {
                    if (ep.kind === 'vmbridge') this.sendTo(ep, ev, folder);
                    else if (once) this.sendTo(ep, forOc, folder);
                }
            }
        }
    }

    private async uidOf(ev: NewmailEvent, mailbox: string): Promise<{ uid: number; uidValidity?: number } | undefined> {
        if (ev.uid !== undefined) return { uid: ev.uid, uidValidity: ev.uidValidity };
        if (!ev.messageId || !this.opts.uids) return undefined;
        return this.opts.uids.find(ev.user, mailbox, ev.messageId);
    }

    private async resolve(user: string): Promise<Endpoint[]> {
        try {
            return await this.opts.resolver.endpoints(user);
        } catch (err) {
            // Resolvers are built not to throw; if one does, the events still went to the bus.
            this.opts.logger?.warn({ err, user }, 'resolver failed; events not pushed');
            return [];
        }
    }

    private sendTo(ep: Endpoint, ev: VmEvent, folder: FolderName): void {
        const frame = frameFor(ep, ev, this.oc, folder);
        if (frame === 'skip') return;
        if (frame === 'no_uid') {
            countDrop('no_uid');
            return;
        }
        let sock = this.endpoints.get(ep.url);
        if (!sock) {
            sock = new PushEndpoint(ep.url, this.epOpts, gone => {
                if (this.endpoints.get(gone.url) === gone) this.endpoints.delete(gone.url);
            });
            this.endpoints.set(ep.url, sock);
        }
        sock.send(frame);
    }
}
