// Joins a delivery the bridge made with Dovecot's MessageNew for it into exactly ONE newmail per
// stored copy, whatever the timing (design.md, "One newmail per stored copy"):
// - Dovecot may report before or after its 250: a MessageNew for an expected copy is held until
//   stored(); a stored copy waits for its MessageNew up to the join window.
// - Whether to wait is configuration (--hook) or the hook's hello, never how long it was silent.
// - No MessageNew in the window: the copy's MessageNew was lost (counted as a hook gap, the
//   user's counts resynced); the uid is looked up over IMAP by Message-ID, else it goes without.
// - A MessageNew for a copy whose newmail already went out only updates the uid index.
import type { Logger } from '../log.js';
import { hookGaps } from '../metrics.js';
import type { DeliveryObserver, DeliveryRecord } from './delivery.js';
import type { Item } from '../hook/normalize.js';
import type { HeaderFetcher } from './header-fetch.js';
import type { IndexEntry, IndexStore } from './index-store.js';
import type { SharedJoin } from './join-share.js';
import { newmailEvent, type StoredAt } from './newmail.js';
import type { OrderGate, Slot } from './order-gate.js';
import { JOIN_DONE_MAX, JOIN_DONE_MS } from '../limits.js';

export type NewItem = Item & { kind: 'new' | 'append' };

export interface JoinOptions {
    gate: OrderGate;
    index: IndexStore;
    fetcher?: HeaderFetcher;
    logger: Logger;
    joinWaitMs: number;
    /** Is Dovecot's hook installed (so a MessageNew will come)? unknown: --hook auto, not heard yet. */
    hookInstalled(): 'yes' | 'no' | 'unknown';
    /** A MessageNew the bridge's stored() never claimed: a copy stored all the same. */
    orphan(user: string, item: NewItem, session: string, slot: Slot): void;
    onGap?(user: string): void;
    /** The uid another bridge instance learnt for a copy this one delivered (memcached). */
    shared?: SharedJoin;
    /** How long an emitted copy is remembered for a late MessageNew (ms). */
    rememberMs?: number;
}

interface Waiting {
    rec: DeliveryRecord;
    slot: Slot;
    timer?: NodeJS.Timeout;
    item?: NewItem;
    looking?: Promise<void>;
}
interface Arrived {
    item: NewItem;
    session: string;
    slot: Slot;
    timer: NodeJS.Timeout;
}
interface Done {
    user: string;
    downstreamId?: string;
    messageId?: string;
    entry: IndexEntry;
    uid?: number;
    expires: number;
}

export class DeliveryJoin implements DeliveryObserver {
    private readonly expected = new Map<string, DeliveryRecord[]>();
    private readonly waiting = new PerUser<Waiting>();
    private readonly arrived = new PerUser<Arrived>();
    private readonly done = new DoneCopies();

    constructor(private readonly opts: JoinOptions) {}

    expect(rec: DeliveryRecord): void {
        const k = msgKey(rec.user, rec.classification.messageId);
        const l = this.expected.get(k);
        l ? l.push(rec) : this.expected.set(k, [rec]);
        this.opts.shared?.expect(rec.user, rec.classification.messageId);
    }

    failed(rec: DeliveryRecord): void {
        this.unexpect(rec);
    }

    stored(rec: DeliveryRecord): void {
        this.unexpect(rec);
        const hit =
            (rec.downstreamId ? this.arrived.find(rec.user, a => a.session === rec.downstreamId) : undefined) ??
            this.arrived.find(rec.user, a => a.item.messageId === rec.classification.messageId);
        if (hit) {
            this.arrived.remove(rec.user, hit);
            clearTimeout(hit.timer);
            if (hit.item.uid > 0) return this.finish(rec, hit.slot, hit.item, true);
            const w: Waiting = { rec, slot: hit.slot }; // reported without uid: ask IMAP
            this.waiting.add(rec.user, w);
            return void this.lookup(w, false);
        }
        const slot = this.opts.gate.reserve(rec.user);
        const hook = this.opts.hookInstalled();
        if (hook === 'no') return this.finish(rec, slot, undefined, false); // nothing will report it
        const w: Waiting = { rec, slot };
        if (hook === 'unknown') {
            // Maybe nothing will report it: ask Dovecot at once (when --imap allows) rather than wait;
            // with nothing to ask, it goes out now (no lookup, no scan of the user's copies).
            if (!this.canLookUp(rec)) return this.finish(rec, slot, undefined, false);
            this.waiting.add(rec.user, w);
            return void this.lookup(w, false);
        }
        w.timer = setTimeout(() => void this.lookup(w), this.opts.joinWaitMs);
        this.waiting.add(rec.user, w);
    }

    /** Dovecot's MessageNew: true when it belongs to a copy the bridge delivered (handled here). */
    onMessageNew(user: string, session: string, item: NewItem): boolean {
        const w = match(
            this.waiting,
            user,
            x => x.rec,
            session,
            item.messageId,
            x => !x.item
        );
        if (w && item.uid <= 0) {
            // Dovecot stored it but had no uid yet (maildir with its uid list locked by another
            // delivery): the report is here, the uid must come from IMAP.
            clearTimeout(w.timer);
            if (!w.looking) void this.lookup(w, false);
            return true;
        }
        if (w) {
            w.item = item;
            if (!w.looking) {
                clearTimeout(w.timer);
                this.waiting.remove(user, w);
                this.finish(w.rec, w.slot, item, true);
            }
            return true;
        }
        const d = (session ? this.done.takeSession(user, session) : undefined) ?? this.done.takeMessage(user, item.messageId, item.uid);
        if (d) {
            // Its newmail went out already: only the index learns the uid now.
            void this.opts.index.set(ref(user, item), d.entry);
            return true;
        }
        const rec = this.expected.get(msgKey(user, item.messageId))?.[0];
        if (!rec) return false;
        // Dovecot reports before it answers 250: hold it (and its place in the user's order); the
        // index learns the message now, so a \Seen that overtakes the 250 still carries its class.
        const early = newmailEvent(rec, item);
        void this.opts.index.set(ref(user, item), { messageId: early.messageId, class: early.class, voicemail: early.voicemail });
        const slot = this.opts.gate.reserve(user);
        const a: Arrived = {
            item,
            session,
            slot,
            timer: setTimeout(() => {
                this.arrived.remove(user, a);
                this.opts.orphan(user, item, session, slot);
            }, this.opts.joinWaitMs * 2)
        };
        this.arrived.add(user, a);
        return true;
    }

    /** Emitted copies remembered for a late MessageNew (at most JOIN_DONE_MAX). */
    get remembered(): number {
        return this.done.size;
    }

    /** Copies still waiting for Dovecot (for stop(): wait for them a little). */
    get pending(): number {
        return this.waiting.size + this.arrived.size;
    }

    /** On stop: every held copy goes out now (uid looked up where it is missing). */
    async flush(): Promise<void> {
        const work: Promise<void>[] = [];
        for (const w of this.waiting.all()) {
            clearTimeout(w.timer);
            work.push(w.looking ?? this.lookup(w, false));
        }
        for (const [user, a] of this.arrived.entries()) {
            clearTimeout(a.timer);
            this.arrived.remove(user, a);
            this.opts.orphan(user, a.item, a.session, a.slot);
        }
        await Promise.all(work);
    }

    private lookup(w: Waiting, lost = true): Promise<void> {
        const { rec } = w;
        w.looking = (async () => {
            const mailbox = rec.mailbox ?? 'INBOX';
            const messageId = rec.classification.messageId;
            // Dovecot may have reported it to another bridge instance, which left the uid here.
            const handed = await this.opts.shared?.uidFor(rec.user, messageId);
            const gap = !handed && lost;
            if (gap) {
                hookGaps.inc({ kind: 'delivery' });
                this.opts.logger.warn({ user: rec.user, messageId, downstreamId: rec.downstreamId }, "Dovecot's MessageNew did not come in time; looking the uid up");
            }
            const found =
                handed ?? (this.opts.fetcher && messageId ? await this.opts.fetcher.findUid(rec.user, mailbox, messageId, this.done.uids(rec.user, messageId)) : undefined);
            this.waiting.remove(rec.user, w);
            if (w.item)
                this.finish(rec, w.slot, w.item, true); // it came while we looked
            else this.finish(rec, w.slot, found && { mailbox, ...found }, false);
            if (gap) this.opts.onGap?.(rec.user); // recount after the newmail, so the mwi comes after it
        })();
        return w.looking;
    }

    private finish(rec: DeliveryRecord, slot: Slot, at: StoredAt | undefined, fromHook: boolean): void {
        const ev = newmailEvent(rec, at);
        const entry: IndexEntry = { messageId: ev.messageId, class: ev.class, voicemail: ev.voicemail };
        if (at?.uid !== undefined && at.uidValidity !== undefined)
            void this.opts.index.set({ user: rec.user, mailbox: at.mailbox ?? ev.mailbox ?? 'INBOX', uid: at.uid, uidValidity: at.uidValidity }, entry);
        if (!fromHook) this.remember(rec, entry, at?.uid);
        this.opts.gate.fill(rec.user, slot, ev);
    }

    /** Can a uid be found without Dovecot's report: handed over by another instance, or over IMAP? */
    private canLookUp(rec: DeliveryRecord): boolean {
        return this.opts.shared !== undefined || (this.opts.fetcher !== undefined && !!rec.classification.messageId);
    }

    private remember(rec: DeliveryRecord, entry: IndexEntry, uid?: number): void {
        const now = Date.now();
        this.done.add({
            user: rec.user,
            downstreamId: rec.downstreamId,
            messageId: rec.classification.messageId,
            entry,
            uid,
            expires: now + (this.opts.rememberMs ?? JOIN_DONE_MS)
        });
        // down to 90 %: memory stays near the bound instead of swinging by half of it
        if (this.done.size > JOIN_DONE_MAX) this.done.prune(now, Math.floor(JOIN_DONE_MAX * 0.9));
    }

    private unexpect(rec: DeliveryRecord): void {
        const k = msgKey(rec.user, rec.classification.messageId);
        const l = this.expected.get(k);
        const i = l ? l.findIndex(r => r.sessionId === rec.sessionId && r.rcptIndex === rec.rcptIndex) : -1;
        if (i >= 0) l!.splice(i, 1);
        if (l && !l.length) this.expected.delete(k);
    }
}

/**
 * Emitted copies remembered for a late MessageNew: oldest first (for the bound and expiry) and
 * indexed by (user, Dovecot session) and (user, Message-ID), so a MessageNew or a uid lookup finds
 * its copy without scanning the user's others (a user sent one Message-ID many times had a
 * lookup per copy scan all of them).
 */
class DoneCopies {
    private readonly order = new Set<Done>();
    private readonly bySession = new Map<string, Done[]>();
    private readonly byMessage = new Map<string, Done[]>();

    get size(): number {
        return this.order.size;
    }

    add(d: Done): void {
        this.order.add(d);
        if (d.downstreamId) push(this.bySession, msgKey(d.user, d.downstreamId), d);
        if (d.messageId !== undefined) push(this.byMessage, msgKey(d.user, d.messageId), d);
    }

    /** The oldest copy of this Dovecot session, removed. */
    takeSession(user: string, session: string): Done | undefined {
        return this.take(this.bySession.get(msgKey(user, session))?.[0]);
    }

    /** The oldest copy with this Message-ID whose uid is unknown or this one, removed. */
    takeMessage(user: string, messageId: string | undefined, uid: number): Done | undefined {
        if (messageId === undefined) return undefined;
        return this.take(this.byMessage.get(msgKey(user, messageId))?.find(d => d.uid === undefined || d.uid === uid));
    }

    /** The uids already given to the user's copies with this Message-ID. */
    uids(user: string, messageId: string): Set<number> {
        const taken = new Set<number>();
        for (const d of this.byMessage.get(msgKey(user, messageId)) ?? []) if (d.uid !== undefined) taken.add(d.uid);
        return taken;
    }

    /** Drops the expired, else the oldest, until at most `keep` are left (from the oldest on: no full pass). */
    prune(now: number, keep: number): void {
        for (const d of this.order) {
            if (d.expires > now && this.order.size <= keep) return;
            this.take(d);
        }
    }

    private take(d: Done | undefined): Done | undefined {
        if (!d) return undefined;
        this.order.delete(d);
        if (d.downstreamId) pull(this.bySession, msgKey(d.user, d.downstreamId), d);
        if (d.messageId !== undefined) pull(this.byMessage, msgKey(d.user, d.messageId), d);
        return d;
    }
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
    const l = m.get(k);
    l ? l.push(v) : m.set(k, [v]);
}

function pull<T>(m: Map<string, T[]>, k: string, v: T): void {
    const l = m.get(k);
    const i = l ? l.indexOf(v) : -1;
    if (i < 0) return;
    l!.splice(i, 1);
    if (!l!.length) m.delete(k);
}

/** Small per-user lists (copies in flight for one user), scanned in arrival order. */
class PerUser<T> {
    private readonly m = new Map<string, T[]>();
    add(user: string, v: T): void {
        push(this.m, user, v);
    }
    find(user: string, pred: (v: T) => boolean): T | undefined {
        return this.m.get(user)?.find(pred);
    }
    remove(user: string, v: T): void {
        pull(this.m, user, v);
    }
    *entries(): Iterable<[string, T]> {
        for (const [u, l] of [...this.m]) for (const v of [...l]) yield [u, v];
    }
    all(): T[] {
        return [...this.m.values()].flat();
    }
    get size(): number {
        let n = 0;
        for (const l of this.m.values()) n += l.length;
        return n;
    }
}

const msgKey = (user: string, messageId?: string) => `${user}\0${messageId ?? ''}`;
const ref = (user: string, i: NewItem) => ({ user, mailbox: i.mailbox, uid: i.uid, uidValidity: i.uidValidity });
/** Is this MessageNew (session, Message-ID) the report of this copy? Dovecot's LMTP session id first, else the Message-ID. */
function match<T>(list: PerUser<T>, user: string, of: (v: T) => DeliveryRecord, session: string, messageId?: string, extra: (v: T) => boolean = () => true): T | undefined {
    return (
        (session ? list.find(user, v => extra(v) && of(v).downstreamId === session) : undefined) ?? list.find(user, v => extra(v) && of(v).classification.messageId === messageId)
    );
}
