// Convergence logic with fake timers and a fake count: what Asterisk publishes is compared with
// vmbridge's count; a disagreement is recounted after the settle time and corrected once; a state
// Asterisk keeps re-publishing is not corrected again; a box's corrections are bounded.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registry } from '../../src/metrics.js';
import { BoxDirectory, type VoicemailBox } from '../../src/mwi/boxes.js';
import { agrees, Converger, parseMessageWaiting } from '../../src/mwi/converge.js';
import type { MwiCounts } from '../../src/mwi/count.js';
import { MwiService } from '../../src/mwi/recount.js';
import { parseVoicemailConf } from '../../src/mwi/voicemail-conf.js';
import { captureLogger } from './log-capture.js';

const mw = (box: string, n: number, o: number, waiting = n > 0 ? 1 : 0) => ({
    Event: 'MessageWaiting',
    Privilege: 'call,all',
    Mailbox: box,
    Waiting: String(waiting),
    New: String(n),
    Old: String(o)
});

async function corrections(result: string): Promise<number> {
    return (await registry.getSingleMetric('vmbridge_mwi_corrections_total')!.get()).values.find(v => v.labels.result === result)?.value ?? 0;
}

describe('reading MessageWaiting', () => {
    it('parses Mailbox/New/Old; a bare mailbox is in context default; other events are ignored', () => {
        expect(parseMessageWaiting(mw('1000@default', 1, 2))).toEqual({ id: '1000@default', new: 1, old: 2 });
        expect(parseMessageWaiting(mw('1000', 0, 0))).toEqual({ id: '1000@default', new: 0, old: 0 });
        expect(parseMessageWaiting({ Event: 'Newchannel', Mailbox: '1000' })).toBeUndefined();
        expect(parseMessageWaiting({ Event: 'MessageWaiting', Mailbox: '1000', New: 'x', Old: '0' })).toBeUndefined();
    });

    it('agrees when Old matches and New counts urgent or not; Waiting plays no part', () => {
        const c = { new: 2, old: 1, urgent: 1 };
        expect(agrees({ new: 2, old: 1 }, c)).toBe(true);
        expect(agrees({ new: 1, old: 1 }, c)).toBe(true);
        expect(agrees({ new: 0, old: 1 }, c)).toBe(false);
        expect(agrees({ new: 2, old: 0 }, c)).toBe(false);
        expect(agrees({ new: 1, old: 0 }, { new: 1, old: 0, urgent: 1 })).toBe(true); // only urgent: Waiting 0, New 1
    });
});

describe('Converger', () => {
    beforeEach(() => void vi.useFakeTimers({ now: 0 }));
    afterEach(() => void vi.useRealTimers());

    function setup(truth: MwiCounts, opts: { maxCorrections?: number } = {}) {
        const boxes = new BoxDirectory(parseVoicemailConf('[default]\n1000 => 1,A,,,imapuser=alice\n'));
        const counted: string[] = [];
        const state = { truth };
        const { logger, records } = captureLogger();
        const notified: MwiCounts[] = [];
        const service = new MwiService({
            boxes,
            counter: { count: async (b: VoicemailBox) => (counted.push(b.id), { ...state.truth }) },
            out: { emit: () => undefined },
            notifiers: [{ notify: (_b, c) => void notified.push(c) }],
            logger,
            debounceMs: 10
        });
        const corrected: MwiCounts[] = [];
        const conv = new Converger({ boxes, service, correct: (_b, c) => void corrected.push(c), logger, settleMs: 250, maxCorrections: opts.maxCorrections });
        return { boxes, service, conv, counted, corrected, notified, records, state };
    }

    it('the VoiceMailMain hangup case: a stale state is recounted after the settle time and corrected once', async () => {
        const { service, conv, counted, corrected, boxes } = setup({ new: 0, old: 1, urgent: 0 });
        service.request(boxes.all());
        await vi.advanceTimersByTimeAsync(0);
        expect(counted).toHaveLength(1);
        const sent = await corrections('sent');
        conv.onEvent(mw('1000@default', 0, 1)); // the right state after vmbridge's refresh
        await vi.advanceTimersByTimeAsync(1000);
        expect(counted).toHaveLength(1); // agrees with the last count: no recount
        conv.onEvent(mw('1000@default', 1, 0)); // hangup: the state from the start of the call
        conv.onEvent(mw('1000@default', 1, 0));
        await vi.advanceTimersByTimeAsync(249);
        expect(counted).toHaveLength(1);
        await vi.advanceTimersByTimeAsync(1);
        expect(counted).toHaveLength(2); // one fresh recount for the burst, within the settle time
        expect(corrected).toEqual([{ new: 0, old: 1, urgent: 0 }]);
        expect(await corrections('sent')).toBe(sent + 1);
        conv.onEvent(mw('1000@default', 0, 1)); // Asterisk recounted: converged
        await vi.advanceTimersByTimeAsync(1000);
        expect(counted).toHaveLength(2);
        expect(corrected).toHaveLength(1);
    });

    it('no correction when the fresh count shows Asterisk was right (vmbridge had missed a change)', async () => {
        const { service, conv, corrected, notified, boxes, state } = setup({ new: 1, old: 0, urgent: 0 });
        service.request(boxes.all());
        await vi.advanceTimersByTimeAsync(0);
        state.truth = { new: 0, old: 1, urgent: 0 };
        conv.onEvent(mw('1000@default', 0, 1));
        await vi.advanceTimersByTimeAsync(300);
        expect(corrected).toEqual([]);
        expect(notified.at(-1)).toEqual({ new: 0, old: 1, urgent: 0 }); // the change itself went out as usual
    });

    it('no loop: Asterisk answering every correction with the same state gets one correction, then suppressed', async () => {
        const { service, conv, counted, corrected, records, boxes } = setup({ new: 1, old: 0, urgent: 1 });
        service.request(boxes.all());
        await vi.advanceTimersByTimeAsync(0);
        const suppressed = await corrections('suppressed');
        // an Asterisk that counts the box its own way (e.g. a greeting as old) and says so after every refresh
        for (let i = 0; i < 200; i++) {
            conv.onEvent(mw('1000@default', 1, 1));
            await vi.advanceTimersByTimeAsync(300);
        }
        expect(corrected).toHaveLength(1);
        expect(counted).toHaveLength(2); // the start count and one check: a known steady state needs no recount
        expect(await corrections('suppressed')).toBe(suppressed + 199);
        expect(records.filter(r => r.level === 40 && /keeps publishing/.test(r.msg))).toHaveLength(1);
    });

    it('bounded: at most maxCorrections per box per minute, whatever states alternate', async () => {
        const { service, conv, corrected, boxes } = setup({ new: 0, old: 0, urgent: 0 }, { maxCorrections: 3 });
        service.request(boxes.all());
        await vi.advanceTimersByTimeAsync(0);
        for (let i = 0; i < 20; i++) {
            conv.onEvent(mw('1000@default', 1 + (i % 5), 0));
            await vi.advanceTimersByTimeAsync(300);
        }
        expect(corrected).toHaveLength(3); // 6 s of alternating stale states
        await vi.advanceTimersByTimeAsync(60_000);
        conv.onEvent(mw('1000@default', 9, 0));
        await vi.advanceTimersByTimeAsync(300);
        expect(corrected).toHaveLength(4); // a new window
    });

    it('urgent: Asterisk re-publishing an identical agreeing state never triggers anything', async () => {
        const { service, conv, counted, corrected, boxes } = setup({ new: 1, old: 0, urgent: 1 });
        service.request(boxes.all());
        await vi.advanceTimersByTimeAsync(0);
        for (let i = 0; i < 100; i++) conv.onEvent(mw('1000@default', 1, 0, 0));
        await vi.advanceTimersByTimeAsync(1000);
        expect(counted).toHaveLength(1);
        expect(corrected).toEqual([]);
    });

    it('a box never counted is counted (and so notified) on its first MessageWaiting; unknown boxes are ignored', async () => {
        const { conv, counted, corrected, notified } = setup({ new: 2, old: 0, urgent: 0 });
        conv.onEvent(mw('9999@default', 5, 5));
        conv.onEvent(mw('1000@default', 0, 0));
        await vi.advanceTimersByTimeAsync(300);
        expect(counted).toEqual(['1000@default']);
        expect(notified).toEqual([{ new: 2, old: 0, urgent: 0 }]);
        expect(corrected).toEqual([]);
        conv.stop();
    });
});
