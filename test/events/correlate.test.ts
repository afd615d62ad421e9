// The correlator's timing logic with fake timers: exactly one newmail per stored copy whatever
// order and delay Dovecot's MessageNew comes in, per-user order, and nothing dropped at close().
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Classification } from '../../src/classify/classify.js';
import { Correlator } from '../../src/events/correlate.js';
import type { DeliveryRecord } from '../../src/events/delivery.js';
import type { Batch } from '../../src/hook/batch.js';
import type { VmEvent } from '../../src/events/event.js';
import type { HeaderFetcher } from '../../src/events/header-fetch.js';
import { MemoryIndex } from '../../src/events/index-store.js';
import { createLogger } from '../../src/log.js';
import { hookGaps } from '../../src/metrics.js';

const USER = 'alice';
const JOIN = 2000;
const vm: Classification = { class: 'voicemail', messageId: '<vm1@pbx>', voicemail: { mailbox: '1000', context: 'default' } } as Classification;

let n = 0;
const rec = (over: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
    sessionId: `s${++n}`,
    rcptIndex: 0,
    rcpt: USER,
    user: USER,
    from: 'pbx',
    classification: vm,
    size: 10,
    ...over
});
const batch = (session: string, uid: number, messageId = vm.messageId, name: 'MessageNew' | 'FlagsSet' = 'MessageNew'): Batch => ({
    proc: `p-${session}-${uid}-${name}`,
    seq: 1,
    user: USER,
    session,
    events: [{ name, mailbox: 'INBOX', uid, uid_validity: 77, message_id: messageId, flags: name === 'FlagsSet' ? ['\\Seen'] : [] }]
});
const gaps = async () => (await hookGaps.get()).values.find(v => v.labels.kind === 'delivery')?.value ?? 0;

describe('Correlator joins', () => {
    let out: VmEvent[];
    let index: MemoryIndex;
    const make = (opts: { hook?: 'yes' | 'no' | 'auto'; fetcher?: Partial<HeaderFetcher> } = {}) =>
        new Correlator({
            out: { emit: ev => out.push(ev) },
            index,
            logger: createLogger('silent'),
            joinWaitMs: JOIN,
            hook: opts.hook ?? 'yes',
            fetcher: opts.fetcher as HeaderFetcher
        });
    const settle = async (ms = 0) => {
        await vi.advanceTimersByTimeAsync(ms);
        for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    const newmails = () => out.filter(e => e.type === 'newmail');

    beforeEach(() => {
        vi.useFakeTimers();
        out = [];
        index = new MemoryIndex();
    });
    afterEach(() => vi.useRealTimers());

    it('Dovecot reports after the 250: one newmail, with the uid, when the MessageNew comes', async () => {
        const c = make();
        const r = rec({ downstreamId: 'dsA' });
        c.expect(r);
        c.stored(r);
        await settle(JOIN - 10);
        expect(out).toHaveLength(0);
        c.onBatch(batch('dsA', 5));
        await settle();
        expect(newmails()).toMatchObject([{ uid: 5, uidValidity: 77, class: 'voicemail' }]);
        await settle(10 * JOIN);
        expect(newmails()).toHaveLength(1);
    });

    it('Dovecot reports before the 250: held, then one newmail with the uid', async () => {
        const c = make();
        const r = rec({ downstreamId: 'dsB' });
        c.expect(r);
        c.onBatch(batch('dsB', 6));
        await settle(JOIN);
        expect(out).toHaveLength(0);
        c.stored(r);
        await settle(10 * JOIN);
        expect(newmails()).toMatchObject([{ uid: 6 }]);
        expect(newmails()).toHaveLength(1);
    });

    it('MessageNew lost: uid looked up over IMAP, a gap counted; a later MessageNew adds no event', async () => {
        const findUid = vi.fn(async () => ({ uid: 9, uidValidity: 77 }));
        const c = make({ fetcher: { findUid } });
        const before = await gaps();
        const r = rec({ downstreamId: 'dsC' });
        c.expect(r);
        c.stored(r);
        await settle(JOIN);
        expect(findUid).toHaveBeenCalledWith(USER, 'INBOX', vm.messageId, new Set());
        expect(newmails()).toMatchObject([{ uid: 9 }]);
        expect(await gaps()).toBe(before + 1);
        c.onBatch(batch('dsC', 9)); // Dovecot was slow, not silent
        await settle(10 * JOIN);
        expect(newmails()).toHaveLength(1);
        expect(await index.get({ user: USER, mailbox: 'INBOX', uidValidity: 77, uid: 9 })).toMatchObject({ class: 'voicemail' });
    });

    it('no uid anywhere: goes out without; a MessageNew hours later only fills the index', async () => {
        const c = make();
        const r = rec({ downstreamId: 'dsD' });
        c.expect(r);
        c.stored(r);
        await settle(JOIN);
        expect(newmails()).toHaveLength(1);
        expect(newmails()[0].uid).toBeUndefined();
        await settle(3 * 3600_000);
        c.onBatch(batch('dsD', 12));
        await settle();
        expect(newmails()).toHaveLength(1);
        expect(await index.get({ user: USER, mailbox: 'INBOX', uidValidity: 77, uid: 12 })).toMatchObject({ class: 'voicemail' });
    });

    it('a MessageNew minutes late is never a second newmail', async () => {
        const c = make();
        const r = rec({ downstreamId: 'dsE' });
        c.expect(r);
        c.stored(r);
        await settle(9 * 60_000);
        c.onBatch(batch('dsE', 11));
        await settle(10 * JOIN);
        expect(newmails()).toHaveLength(1);
        expect(await index.get({ user: USER, mailbox: 'INBOX', uidValidity: 77, uid: 11 })).toMatchObject({ messageId: vm.messageId });
    });

    it('the hook silent for hours changes nothing: the next delivery still waits for its uid', async () => {
        const c = make();
        c.onBatch(batch('old', 1, '<other@x>'));
        await settle(10 * 3600_000);
        out.length = 0;
        const r = rec({ downstreamId: 'dsF' });
        c.expect(r);
        c.stored(r);
        await settle(500);
        c.onBatch(batch('dsF', 2));
        await settle(10 * JOIN);
        expect(newmails()).toMatchObject([{ uid: 2 }]);
        expect(newmails()).toHaveLength(1);
    });

    it('--hook auto waits only once the hook was heard; --hook no never waits', async () => {
        const findUid = vi.fn(async () => ({ uid: 1, uidValidity: 77 }));
        const auto = make({ hook: 'auto', fetcher: { findUid } });
        const r1 = rec();
        auto.expect(r1);
        auto.stored(r1);
        await settle();
        expect(newmails()).toMatchObject([{ uid: 1 }]); // nothing heard yet: asked over IMAP at once
        auto.onBatch(batch('late', 1)); // its MessageNew, later: no second event
        await settle();
        expect(newmails()).toHaveLength(1);
        findUid.mockClear();
        auto.hookHeard();
        const r2 = rec({ downstreamId: 'dsG' });
        auto.expect(r2);
        auto.stored(r2);
        expect(newmails()).toHaveLength(1);
        auto.onBatch(batch('dsG', 3));
        await settle();
        expect(newmails()).toHaveLength(2);
        expect(findUid).not.toHaveBeenCalled();
        const no = make({ hook: 'no' });
        const r3 = rec({ downstreamId: 'dsH' });
        no.expect(r3);
        no.stored(r3);
        expect(newmails()).toHaveLength(3);
        no.onBatch(batch('dsH', 4)); // installed after all: no second event
        await settle(10 * JOIN);
        expect(newmails()).toHaveLength(3);
    });

    it('two copies of one Message-ID for one user: each joined once, by Dovecot session', async () => {
        const c = make();
        const a = rec({ downstreamId: 'dsI:1' });
        const b = rec({ downstreamId: 'dsI:2' });
        c.expect(a);
        c.expect(b);
        c.onBatch(batch('dsI:2', 21));
        c.stored(a);
        c.stored(b);
        c.onBatch(batch('dsI:1', 20));
        await settle(10 * JOIN);
        expect(newmails().map(e => [e.id, e.uid])).toEqual([
            ['nm.dsI:1.0', 20],
            ['nm.dsI:2.0', 21]
        ]);
    });

    it('a \\Seen while the newmail waits for its join comes after the newmail', async () => {
        const c = make();
        const r = rec({ downstreamId: 'dsJ' });
        c.expect(r);
        c.stored(r);
        c.onBatch({ ...batch('imap1', 30, undefined, 'FlagsSet'), events: [{ name: 'FlagsSet', mailbox: 'INBOX', uid: 30, uid_validity: 77, flags: ['\\Seen'] }] });
        await settle(100);
        expect(out).toHaveLength(0);
        c.onBatch(batch('dsJ', 30));
        await settle();
        expect(out.map(e => e.type)).toEqual(['newmail', 'flag']);
    });

    it('close() emits held joins and unpaired appends instead of dropping them', async () => {
        const c = make({ fetcher: { findUid: async () => undefined, classify: async () => new Map() } });
        const r = rec({ downstreamId: 'dsK' });
        c.expect(r);
        c.stored(r);
        const early = rec({ downstreamId: 'dsL', classification: { ...vm, messageId: '<l@x>' } });
        c.expect(early);
        c.onBatch(batch('dsL', 41, '<l@x>'));
        c.onBatch({ proc: 'ap', seq: 1, user: USER, session: 'imapX', events: [{ name: 'MessageAppend', mailbox: 'Old', uid: 3, uid_validity: 78, message_id: '<ap@x>' }] });
        await settle(10);
        expect(out).toHaveLength(0);
        await c.close();
        expect(
            newmails()
                .map(e => e.messageId)
                .sort()
        ).toEqual(['<ap@x>', '<l@x>', vm.messageId].sort());
    });
});

describe('Correlator: a MessageNew without uid', () => {
    it('(maildir uid list busy) is joined, and the uid comes from IMAP, no gap counted', async () => {
        vi.useFakeTimers();
        try {
            const out: VmEvent[] = [];
            const findUid = vi.fn(async () => ({ uid: 4, uidValidity: 77 }));
            const c = new Correlator({
                out: { emit: ev => void out.push(ev) },
                index: new MemoryIndex(),
                logger: createLogger('silent'),
                joinWaitMs: JOIN,
                hook: 'yes',
                fetcher: { findUid } as unknown as HeaderFetcher
            });
            const before = await gaps();
            const r = rec();
            c.expect(r);
            c.onBatch(batch('lda1', 0));
            await vi.advanceTimersByTimeAsync(0);
            c.stored(r);
            await vi.advanceTimersByTimeAsync(10 * JOIN);
            expect(out.filter(e => e.type === 'newmail')).toMatchObject([{ uid: 4 }]);
            expect(out).toHaveLength(1);
            expect(await gaps()).toBe(before);
        } finally {
            vi.useRealTimers();
        }
    });
});
