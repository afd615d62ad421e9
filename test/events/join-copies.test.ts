// The delivery join with many copies of ONE Message-ID for one user (an MTA resending, a list
// delivering twice): exactly one newmail per copy, each late MessageNew claims its own copy, and a
// uid lookup skips the uids earlier copies got. Unit level: fake fetcher, memory index.
import { describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../src/events/delivery.js';
import type { VmEvent } from '../../src/events/event.js';
import type { HeaderFetcher } from '../../src/events/header-fetch.js';
import { MemoryIndex } from '../../src/events/index-store.js';
import { DeliveryJoin, type JoinOptions } from '../../src/events/join.js';
import { createSharedJoin } from '../../src/events/join-share.js';
import { OrderGate } from '../../src/events/order-gate.js';
import { createLogger } from '../../src/log.js';

const COPIES = 300;
const rec = (i: number): DeliveryRecord => ({
    sessionId: `s${i}`,
    rcptIndex: 0,
    rcpt: 'u1',
    user: 'u1',
    from: 'x',
    classification: { class: 'email', messageId: '<same@x>' },
    size: 1,
    downstreamId: `d${i}`
});

function join(extra: Partial<JoinOptions> = {}) {
    const out: VmEvent[] = [];
    const index = new MemoryIndex();
    const orphans: number[] = [];
    const j = new DeliveryJoin({
        gate: new OrderGate({ emit: ev => out.push(ev) }),
        index,
        logger: createLogger('silent'),
        joinWaitMs: 1000,
        hookInstalled: () => 'unknown',
        orphan: (_u, item) => orphans.push(item.uid),
        shared: createSharedJoin({ kind: 'memory' }, createLogger('silent')), // as the bridge passes it with the memory resolver
        ...extra
    });
    return { j, out, index, orphans };
}

describe('delivery join: many copies of one Message-ID for one user', () => {
    it('--hook auto, nothing to look the uid up with: each copy has its newmail at once, and each late MessageNew claims its own copy', async () => {
        const { j, out, index, orphans } = join();
        for (let i = 0; i < COPIES; i++) {
            j.expect(rec(i));
            j.stored(rec(i));
            expect(out).toHaveLength(i + 1); // no lookup to wait for
        }
        expect(new Set(out.map(ev => ev.id)).size).toBe(COPIES);
        expect(j.remembered).toBe(COPIES);
        // the hook turns up late: every copy's MessageNew (by session) only teaches the index its uid
        for (let i = 0; i < COPIES; i++) {
            expect(j.onMessageNew('u1', `d${i}`, { kind: 'new', mailbox: 'INBOX', uid: 1000 + i, uidValidity: 7, messageId: '<same@x>' })).toBe(true);
        }
        expect(out).toHaveLength(COPIES);
        expect(j.remembered).toBe(0);
        expect(orphans).toEqual([]);
        expect(await index.get({ user: 'u1', mailbox: 'INBOX', uidValidity: 7, uid: 1000 + COPIES - 1 })).toEqual({ messageId: '<same@x>', class: 'email' });
        // one more report for the same Message-ID is no copy of ours
        expect(j.onMessageNew('u1', 'dx', { kind: 'new', mailbox: 'INBOX', uid: 5000, uidValidity: 7, messageId: '<same@x>' })).toBe(false);
    });

    it('a late MessageNew without session: matched by Message-ID, oldest copy first, one copy each', () => {
        const { j, out } = join();
        for (let i = 0; i < 5; i++) {
            j.expect(rec(i));
            j.stored(rec(i));
        }
        for (let i = 0; i < 5; i++) expect(j.onMessageNew('u1', '', { kind: 'new', mailbox: 'INBOX', uid: 10 + i, uidValidity: 7, messageId: '<same@x>' })).toBe(true);
        expect(j.remembered).toBe(0);
        expect(j.onMessageNew('u1', '', { kind: 'new', mailbox: 'INBOX', uid: 99, uidValidity: 7, messageId: '<same@x>' })).toBe(false);
        expect(out).toHaveLength(5);
    });

    it('uid looked up over IMAP: each copy gets a uid no earlier copy has', async () => {
        const stored = Array.from({ length: 20 }, (_, i) => i + 1); // Dovecot's uids of the 20 copies
        const asked: number[][] = [];
        const fetcher = {
            findUid: async (_u: string, _m: string, _id: string, taken: ReadonlySet<number>) => {
                asked.push([...taken]);
                const uid = stored.filter(u => !taken.has(u)).sort((a, b) => b - a)[0];
                return uid ? { uid, uidValidity: 7 } : undefined;
            }
        } as unknown as HeaderFetcher;
        const { j, out } = join({ fetcher });
        for (let i = 0; i < stored.length; i++) {
            j.expect(rec(i));
            j.stored(rec(i));
            await j.flush(); // this copy's lookup done before the next copy's
        }
        const uids = out.map(ev => (ev as VmEvent & { uid?: number }).uid);
        expect(new Set(uids).size).toBe(stored.length);
        expect(uids.every(u => u !== undefined)).toBe(true);
        expect(asked.at(-1)).toHaveLength(stored.length - 1); // the last lookup skipped all the others
    });
});
