// Turns Dovecot's batches into contract events, with the state that needs: MOVE arrives as a
// MessageAppend in the destination's transaction then a MessageExpunge in the source's (same
// session, no shared id) and becomes ONE move; a MessageNew from a delivery the bridge made is
// joined with the bridge's record (Dovecot's LMTP session id = the Lua session_id) into ONE
// newmail with the uid (events/join.ts); the uid index gives later events their class and
// voicemail metadata. Everything goes out through a per-user order gate (events/order-gate.ts).
import { classify as classifyHeaders, type Classification } from '../classify/classify.js';
import type { Logger } from '../log.js';
import { hookGaps, ingestBatches } from '../metrics.js';
import type { DeliveryObserver, DeliveryRecord } from './delivery.js';
import type { Batch } from '../hook/batch.js';
import { normalizeInSlices } from '../hook/normalize.js';
import { makeEvent } from './event.js';
import type { HeaderFetcher } from './header-fetch.js';
import type { IndexEntry, IndexStore, MessageRef } from './index-store.js';
import type { SharedJoin } from './join-share.js';
import { DeliveryJoin, type NewItem } from './join.js';
import { OrderGate, type Slot } from './order-gate.js';
import type { EventSink } from './sink.js';
import { DEFAULTS } from '../config.js';
import { HOOK_PROCS_MAX, APPEND_PAIR_WINDOW_MS } from '../limits.js';

interface Held {
    user: string;
    item: NewItem;
    id: string;
    slot?: Slot;
}

export interface CorrelatorOptions {
    out: EventSink;
    index: IndexStore;
    fetcher?: HeaderFetcher;
    logger: Logger;
    /** How long an APPEND waits for the EXPUNGE that would make it a move (ms). */
    pairWindowMs?: number;
    /** How long a stored delivery waits for Dovecot's MessageNew to learn the uid (ms). */
    joinWaitMs?: number;
    /** Is Dovecot's hook installed: yes, no, or auto (yes once a batch or hello came since start). */
    hook?: 'yes' | 'no' | 'auto';
    /** Bridge instances sharing memcached: which one delivered a copy, and the uid for it. */
    shared?: SharedJoin;
    /** A batch was lost (Dovecot posted while vmbridge was down): the user's state needs a recount. */
    onGap?(user: string): void;
}

export class Correlator implements DeliveryObserver {
    private readonly chains = new Map<string, Promise<void>>();
    private readonly lastSeq = new Map<string, number>();
    private readonly appends = new Map<string, { held: Held[]; timer: NodeJS.Timeout }>();
    private readonly gate: OrderGate;
    private readonly join: DeliveryJoin;
    private heard = false;

    constructor(private readonly opts: CorrelatorOptions) {
        this.gate = new OrderGate(opts.out);
        this.join = new DeliveryJoin({
            gate: this.gate,
            index: opts.index,
            fetcher: opts.fetcher,
            logger: opts.logger,
            joinWaitMs: opts.joinWaitMs ?? DEFAULTS.hookJoinWindow,
            hookInstalled: () => (this.hookInstalled ? 'yes' : this.opts.hook === 'no' ? 'no' : 'unknown'),
            orphan: (user, item, session, slot) => void this.track(this.newmail([{ user, item, id: `nm.${session}.${item.uid}`, slot }])),
            onGap: opts.onGap,
            shared: opts.shared
        });
    }

    /** The hook said hello (or sent a batch): with --hook auto, deliveries now wait for it. */
    hookHeard(): void {
        this.heard = true;
        this.lastHeard = Date.now();
    }

    /** When the hook last said hello or sent a batch (ms since epoch), for health and metrics. */
    lastHeard?: number;

    get hookInstalled(): boolean {
        const hook = this.opts.hook ?? 'auto';
        return hook === 'yes' || (hook === 'auto' && this.heard);
    }

    onBatch(batch: Batch): void {
        this.hookHeard();
        if (!this.inSequence(batch)) return;
        const prev = this.chains.get(batch.user) ?? Promise.resolve();
        const next = prev.then(() => this.process(batch)).catch(err => this.opts.logger.error({ err, user: batch.user }, 'event correlation failed'));
        this.chains.set(batch.user, next);
        void next.then(() => this.chains.get(batch.user) === next && this.chains.delete(batch.user));
    }

    /** A hook stream closed: its Lua state is gone (one per LMTP recipient), so its seq need not be
     * kept. A state that reconnects after dropping a batch starts above seq 1: still a gap. */
    procEnded(proc: string): void {
        this.lastSeq.delete(proc);
    }

    /** Lua states whose last seq is kept (for tests and bench/memory.mjs's reading). */
    get procsTracked(): number {
        return this.lastSeq.size;
    }

    /** Emitted copies remembered for a late MessageNew (bounded: JOIN_DONE_MAX). */
    get copiesRemembered(): number {
        return this.join.remembered;
    }

    // ---- deliveries the bridge makes (DeliveryObserver) ----
    expect(rec: DeliveryRecord): void {
        this.join.expect(rec);
    }

    failed(rec: DeliveryRecord): void {
        this.join.failed(rec);
    }

    stored(rec: DeliveryRecord): void {
        this.join.stored(rec);
    }

    /** Stop: give copies still waiting up to `settleMs` for Dovecot's report (call before ingest closes). */
    async settle(settleMs: number): Promise<void> {
        const until = Date.now() + settleMs;
        while (this.join.pending > 0 && Date.now() < until) await new Promise(r => setTimeout(r, 20));
    }

    /** Stop: everything held (pending joins, unpaired APPENDs) is emitted, none dropped. */
    async close(): Promise<void> {
        await Promise.all(this.chains.values());
        await this.join.flush();
        await Promise.all([...this.appends.keys()].map(s => this.flushAppends(s)));
        await Promise.all([...this.chains.values(), ...this.work]);
    }

    /** newmail still being classified or handed over: close() waits for them. */
    private readonly work = new Set<Promise<void>>();
    private track(p: Promise<void>): Promise<void> {
        const safe = p.catch(err => this.opts.logger.error({ err }, 'newmail failed'));
        this.work.add(safe);
        void safe.then(() => this.work.delete(safe));
        return safe;
    }

    // ---- Dovecot's batches ----
    private inSequence(batch: Batch): boolean {
        const last = this.lastSeq.get(batch.proc);
        if (last !== undefined && batch.seq <= last) return false; // a repeat: already handled
        if (batch.seq !== (last ?? 0) + 1) {
            ingestBatches.inc({ result: 'gap' });
            hookGaps.inc({ kind: 'batch' });
            this.opts.logger.warn({ user: batch.user, proc: batch.proc, after: last ?? 0, got: batch.seq }, 'Dovecot batches lost; resyncing the user');
            this.opts.onGap?.(batch.user);
        }
        this.lastSeq.delete(batch.proc);
        this.lastSeq.set(batch.proc, batch.seq);
        if (this.lastSeq.size > HOOK_PROCS_MAX) this.lastSeq.delete(this.lastSeq.keys().next().value as string);
        return true;
    }

    private async process(batch: Batch): Promise<void> {
        const sliced = normalizeInSlices(batch); // a large batch yields between slices
        const items = sliced instanceof Promise ? await sliced : sliced;
        const expunges = items.filter(i => i.kind === 'expunge');
        if (!expunges.length) await this.flushAppends(batch.session);
        for (const [n, item] of items.entries()) {
            const id = `${batch.proc}.${batch.seq}.${n}`;
            const ref: MessageRef = { user: batch.user, mailbox: item.mailbox, uidValidity: item.uidValidity, uid: item.uid };
            if (item.kind === 'flag') {
                const known = await this.opts.index.get(ref);
                this.emit({ id: `fl.${id}`, type: 'flag', ...refFields(ref), ...known, flags: { set: item.set, cleared: item.cleared } });
            } else if (item.kind === 'expunge') {
                await this.expunged(batch, ref, `${id}`);
            } else if (item.kind === 'new') {
                this.delivered(batch, item, `nm.${batch.session}.${item.uid}`);
            } else {
                this.holdAppend(batch, item, `ap.${id}`);
            }
        }
    }

    private async expunged(batch: Batch, ref: MessageRef, id: string): Promise<void> {
        const known = await this.opts.index.get(ref);
        const pending = this.appends.get(batch.session);
        const i = pending ? pending.held.findIndex(h => h.user === ref.user && (!known?.messageId || h.item.messageId === known.messageId)) : -1;
        if (!pending || i < 0) {
            this.emit({ id: `dl.${id}`, type: 'delete', ...refFields(ref), ...known });
            await this.opts.index.delete(ref);
            return;
        }
        const [dest] = pending.held.splice(i, 1);
        if (dest.slot) this.gate.fill(dest.user, dest.slot); // it is a move, not a newmail
        if (!pending.held.length) {
            clearTimeout(pending.timer);
            this.appends.delete(batch.session);
        }
        const to = { mailbox: dest.item.mailbox, uid: dest.item.uid };
        const entry = known ?? { messageId: dest.item.messageId };
        this.emit({
            id: `mv.${id}`,
            type: 'move',
            user: ref.user,
            mailbox: to.mailbox,
            uid: to.uid,
            uidValidity: dest.item.uidValidity,
            ...entry,
            from: { mailbox: ref.mailbox, uid: ref.uid },
            to
        });
        await this.opts.index.set({ user: ref.user, mailbox: to.mailbox, uidValidity: dest.item.uidValidity, uid: to.uid }, entry);
        await this.opts.index.delete(ref);
    }

    private holdAppend(batch: Batch, item: NewItem, id: string): void {
        const pending = this.appends.get(batch.session) ?? {
            held: [],
            timer: setTimeout(() => void this.flushAppends(batch.session), this.opts.pairWindowMs ?? APPEND_PAIR_WINDOW_MS)
        };
        pending.held.push({ user: batch.user, item, id, slot: this.gate.reserve(batch.user) });
        this.appends.set(batch.session, pending);
    }

    /** APPENDs that no EXPUNGE claimed: COPY or APPEND, i.e. new mail in the destination. */
    private async flushAppends(session: string): Promise<void> {
        const pending = this.appends.get(session);
        if (!pending) return;
        clearTimeout(pending.timer);
        this.appends.delete(session);
        await this.track(this.newmail(pending.held));
    }

    /** newmail for messages the bridge has no record of: class from their headers over IMAP. */
    private async newmail(held: Held[]): Promise<void> {
        try {
            await this.newmailClassified(held);
        } finally {
            // Never leave a place in a user's order unfilled (that would hold their events forever).
            for (const h of held)
                if (h.slot && !h.slot.done)
                    this.gate.fill(
                        h.user,
                        h.slot,
                        makeEvent({
                            id: h.id,
                            type: 'newmail',
                            user: h.user,
                            mailbox: h.item.mailbox,
                            uid: h.item.uid || undefined,
                            uidValidity: h.item.uidValidity,
                            messageId: h.item.messageId
                        })
                    );
        }
    }

    private async newmailClassified(held: Held[]): Promise<void> {
        const classes = await this.classify(held);
        for (const h of held) {
            const c = classes.get(h.item.uid);
            const entry: IndexEntry = { messageId: h.item.messageId ?? c?.messageId, class: c?.class, voicemail: c?.voicemail };
            const ref = { user: h.user, mailbox: h.item.mailbox, uidValidity: h.item.uidValidity, uid: h.item.uid };
            if (ref.uid > 0) await this.opts.index.set(ref, entry);
            const ev = makeEvent({ id: h.id, type: 'newmail', ...refFields(ref), ...(ref.uid > 0 ? {} : { uid: undefined }), ...entry });
            h.slot ? this.gate.fill(h.user, h.slot, ev) : this.gate.emit(ev);
        }
    }

    /** From the header lines the native driver sent, else from a header FETCH over IMAP. */
    private async classify(held: Held[]): Promise<Map<number, Classification>> {
        const known = new Map<number, Classification>();
        for (const h of held) if (h.item.headersBase64 !== undefined) known.set(h.item.uid, classifyHeaders(Buffer.from(h.item.headersBase64, 'base64')));
        const rest = held.filter(h => h.item.headersBase64 === undefined);
        const first = rest[0];
        if (!this.opts.fetcher || !first) return known;
        const fetched = await this.opts.fetcher.classify(
            first.user,
            first.item.mailbox,
            rest.filter(h => h.item.mailbox === first.item.mailbox).map(h => h.item.uid)
        );
        for (const [uid, c] of known) fetched.set(uid, c);
        return fetched;
    }

    /** MessageNew (LMTP/LDA): the bridge's own delivery, or one that bypassed the bridge. */
    private delivered(batch: Batch, item: NewItem, id: string): void {
        if (this.join.onMessageNew(batch.user, batch.session, item)) return;
        // Classified over IMAP first: its place in the user's order is kept meanwhile. A copy
        // another bridge instance delivered is that one's newmail: it gets the uid instead.
        const slot = this.gate.reserve(batch.user);
        void this.track(
            (async () => {
                const at = { mailbox: item.mailbox, uid: item.uid, uidValidity: item.uidValidity };
                if (await this.opts.shared?.handOver(batch.user, item.messageId, at)) return this.gate.fill(batch.user, slot);
                // Reported without uid (maildir uid list busy): ask IMAP by Message-ID.
                const found = item.uid > 0 || !item.messageId ? undefined : await this.opts.fetcher?.findUid(batch.user, item.mailbox, item.messageId);
                await this.newmail([{ user: batch.user, item: found ? { ...item, ...found } : item, id, slot }]);
            })().catch(err => {
                this.opts.logger.error({ err, user: batch.user }, 'newmail failed');
                if (!slot.done) this.gate.fill(batch.user, slot);
            })
        );
    }

    private emit(fields: Parameters<typeof makeEvent>[0]): void {
        this.gate.emit(makeEvent(fields));
    }
}

const refFields = (r: MessageRef) => ({ user: r.user, mailbox: r.mailbox, uid: r.uid, uidValidity: r.uidValidity });
