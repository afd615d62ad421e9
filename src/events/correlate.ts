// Turns Dovecot's batches into contract events, with the state that needs: MOVE arrives as a
// MessageAppend in the destination's transaction then a MessageExpunge in the source's (same
// session, no shared id) and becomes ONE move; a MessageNew from a delivery the bridge made is
// joined with the bridge's record (Dovecot's LMTP session id = the Lua session_id) into ONE
// newmail with the uid; the uid index gives later events their class and voicemail metadata.
import type { Classification } from '../classify/classify.js';
import type { Logger } from '../log.js';
import { ingestBatches } from '../metrics.js';
import type { DeliveryObserver, DeliveryRecord } from './delivery.js';
import type { Batch } from './dovecot/batch.js';
import { normalize, type Item } from './dovecot/normalize.js';
import { makeEvent } from './event.js';
import type { HeaderFetcher } from './header-fetch.js';
import type { IndexEntry, IndexStore, MessageRef } from './index-store.js';
import { newmailEvent } from './newmail.js';
import type { EventSink } from './sink.js';

type NewItem = Item & { kind: 'new' | 'append' };
interface Held { user: string; item: NewItem; id: string }

export interface CorrelatorOptions {
    out: EventSink;
    index: IndexStore;
    fetcher?: HeaderFetcher;
    logger: Logger;
    /** How long an APPEND waits for the EXPUNGE that would make it a move (ms). */
    pairWindowMs?: number;
    /** How long a stored delivery waits for Dovecot's MessageNew to learn the uid (ms). */
    joinWaitMs?: number;
    /** A batch was lost (Dovecot posted while vmbridge was down): the user's state needs a recount. */
    onGap?(user: string): void;
}

export class Correlator implements DeliveryObserver {
    private readonly chains = new Map<string, Promise<void>>();
    private readonly lastSeq = new Map<string, number>();
    private readonly expected = new Map<string, number>();
    private readonly arrived = new Map<string, Held & { session: string; timer: NodeJS.Timeout }>();
    private readonly waiting = new Map<string, { rec: DeliveryRecord; timer: NodeJS.Timeout }>();
    private readonly appends = new Map<string, { held: Held[]; timer: NodeJS.Timeout }>();
    private lastBatchAt = 0;

    constructor(private readonly opts: CorrelatorOptions) {}

    onBatch(batch: Batch): void {
        this.lastBatchAt = Date.now();
        if (!this.inSequence(batch)) return;
        const prev = this.chains.get(batch.user) ?? Promise.resolve();
        const next = prev.then(() => this.process(batch)).catch(err => this.opts.logger.error({ err, user: batch.user }, 'event correlation failed'));
        this.chains.set(batch.user, next);
        void next.then(() => this.chains.get(batch.user) === next && this.chains.delete(batch.user));
    }

    // ---- deliveries the bridge makes (DeliveryObserver) ----
    expect(rec: DeliveryRecord): void {
        const k = msgKey(rec.user, rec.classification.messageId);
        this.expected.set(k, (this.expected.get(k) ?? 0) + 1);
    }

    failed(rec: DeliveryRecord): void {
        this.unexpect(rec);
    }

    stored(rec: DeliveryRecord): void {
        this.unexpect(rec);
        const hit = this.takeArrived(rec);
        if (hit) return this.emitNew(rec, hit.item);
        if (Date.now() - this.lastBatchAt > HOOK_IDLE_MS) return this.emitNew(rec); // no hook: no uid to wait for
        const key = rec.downstreamId ?? msgKey(rec.user, rec.classification.messageId);
        const timer = setTimeout(() => {
            this.waiting.delete(key);
            this.emitNew(rec);
        }, this.opts.joinWaitMs ?? 2000);
        this.waiting.set(key, { rec, timer });
    }

    close(): void {
        for (const m of [this.arrived, this.waiting, this.appends] as Map<string, { timer: NodeJS.Timeout }>[]) for (const v of m.values()) clearTimeout(v.timer);
    }

    // ---- Dovecot's batches ----
    private inSequence(batch: Batch): boolean {
        const last = this.lastSeq.get(batch.proc);
        if (last !== undefined && batch.seq <= last) return false; // a repeat: already handled
        if (batch.seq !== (last ?? 0) + 1) {
            ingestBatches.inc({ result: 'gap' });
            this.opts.logger.warn({ user: batch.user, proc: batch.proc, after: last ?? 0, got: batch.seq }, 'Dovecot batches lost; resyncing the user');
            this.opts.onGap?.(batch.user);
        }
        this.lastSeq.delete(batch.proc);
        this.lastSeq.set(batch.proc, batch.seq);
        if (this.lastSeq.size > 50_000) this.lastSeq.delete(this.lastSeq.keys().next().value as string);
        return true;
    }

    private async process(batch: Batch): Promise<void> {
        const items = normalize(batch);
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
        if (!pending.held.length) {
            clearTimeout(pending.timer);
            this.appends.delete(batch.session);
        }
        const to = { mailbox: dest.item.mailbox, uid: dest.item.uid };
        const entry = known ?? { messageId: dest.item.messageId };
        this.emit({ id: `mv.${id}`, type: 'move', user: ref.user, mailbox: to.mailbox, uid: to.uid, uidValidity: dest.item.uidValidity, ...entry, from: { mailbox: ref.mailbox, uid: ref.uid }, to });
        await this.opts.index.set({ user: ref.user, mailbox: to.mailbox, uidValidity: dest.item.uidValidity, uid: to.uid }, entry);
        await this.opts.index.delete(ref);
    }

    private holdAppend(batch: Batch, item: NewItem, id: string): void {
        const pending = this.appends.get(batch.session) ?? { held: [], timer: setTimeout(() => void this.flushAppends(batch.session), this.opts.pairWindowMs ?? 150) };
        pending.held.push({ user: batch.user, item, id });
        this.appends.set(batch.session, pending);
    }

    /** APPENDs that no EXPUNGE claimed: COPY or APPEND, i.e. new mail in the destination. */
    private async flushAppends(session: string): Promise<void> {
        const pending = this.appends.get(session);
        if (!pending) return;
        clearTimeout(pending.timer);
        this.appends.delete(session);
        await this.newmail(pending.held);
    }

    /** newmail for messages the bridge has no record of: class from their headers over IMAP. */
    private async newmail(held: Held[]): Promise<void> {
        const classes = await this.classify(held);
        for (const h of held) {
            const c = classes.get(h.item.uid);
            const entry: IndexEntry = { messageId: h.item.messageId ?? c?.messageId, class: c?.class, voicemail: c?.voicemail };
            const ref = { user: h.user, mailbox: h.item.mailbox, uidValidity: h.item.uidValidity, uid: h.item.uid };
            await this.opts.index.set(ref, entry);
            this.emit({ id: h.id, type: 'newmail', ...refFields(ref), ...entry });
        }
    }

    private async classify(held: Held[]): Promise<Map<number, Classification>> {
        const first = held[0];
        if (!this.opts.fetcher || !first) return new Map();
        return this.opts.fetcher.classify(first.user, first.item.mailbox, held.filter(h => h.item.mailbox === first.item.mailbox).map(h => h.item.uid));
    }

    /** MessageNew (LMTP/LDA): the bridge's own delivery, or one that bypassed the bridge. */
    private delivered(batch: Batch, item: NewItem, id: string): void {
        const held = { user: batch.user, item, id, session: batch.session };
        const w = this.waiting.get(batch.session) ?? this.waiting.get(msgKey(batch.user, item.messageId));
        if (w && w.rec.user === batch.user) {
            clearTimeout(w.timer);
            this.waiting.delete(w.rec.downstreamId ?? msgKey(w.rec.user, w.rec.classification.messageId));
            return this.emitNew(w.rec, item);
        }
        if (this.expected.has(msgKey(batch.user, item.messageId))) {
            // Dovecot reports before it replies 250: keep it for the bridge's stored() (bounded).
            const timer = setTimeout(() => {
                this.arrived.delete(batch.session);
                void this.newmail([held]);
            }, (this.opts.joinWaitMs ?? 2000) * 2);
            this.arrived.set(batch.session, { ...held, timer });
            return;
        }
        void this.newmail([held]);
    }

    private takeArrived(rec: DeliveryRecord): (Held & { timer: NodeJS.Timeout }) | undefined {
        let key = rec.downstreamId && this.arrived.has(rec.downstreamId) ? rec.downstreamId : undefined;
        if (!key) for (const [k, a] of this.arrived) if (a.user === rec.user && a.item.messageId === rec.classification.messageId) key = k;
        const hit = key ? this.arrived.get(key) : undefined;
        if (key && hit) {
            clearTimeout(hit.timer);
            this.arrived.delete(key);
        }
        return hit;
    }

    private unexpect(rec: DeliveryRecord): void {
        const k = msgKey(rec.user, rec.classification.messageId);
        const n = (this.expected.get(k) ?? 0) - 1;
        n > 0 ? this.expected.set(k, n) : this.expected.delete(k);
    }

    private emitNew(rec: DeliveryRecord, at?: NewItem): void {
        const ev = newmailEvent(rec, at && { mailbox: at.mailbox, uid: at.uid, uidValidity: at.uidValidity });
        if (at) void this.opts.index.set({ user: rec.user, mailbox: at.mailbox, uidValidity: at.uidValidity, uid: at.uid }, { messageId: ev.messageId, class: ev.class, voicemail: ev.voicemail });
        this.opts.out.emit(ev);
    }

    private emit(fields: Parameters<typeof makeEvent>[0]): void {
        this.opts.out.emit(makeEvent(fields));
    }
}

const HOOK_IDLE_MS = 10 * 60_000;
const msgKey = (user: string, messageId?: string) => `${user}\0${messageId ?? ''}`;
const refFields = (r: MessageRef) => ({ user: r.user, mailbox: r.mailbox, uid: r.uid, uidValidity: r.uidValidity });
