// Convergence with what Asterisk publishes. Every AMI MessageWaiting (`Mailbox: 1000@default`,
// `New`, `Old`) is compared with vmbridge's last count; on disagreement the box is recounted
// (after `settleMs`, so a burst of events is one check) and, if Asterisk still disagrees with the
// fresh count, corrected once (VoicemailRefresh or MWIUpdate). Asterisk publishes stale states on
// its own — at VoiceMailMain hangup it re-publishes the counts from the start of the call.
// No loop: when Asterisk answers a correction with the same disagreeing state (it does so while
// urgent messages exist), that state is its steady answer and is not corrected again until either
// side changes; and a box gets at most `maxCorrections` per `windowMs`. Both are counted as
// suppressed.
import type { Logger } from '../log.js';
import { mwiCorrections } from '../metrics.js';
import type { AmiMessage } from './ami.js';
import type { BoxDirectory, VoicemailBox } from './boxes.js';
import type { MwiCounts } from './count.js';
import type { MwiService } from './recount.js';
import { DEFAULTS } from '../config.js';
import { MWI_CORRECTION_WINDOW_MS, MWI_WARNED_MAX } from '../limits.js';

/** What a MessageWaiting event says about a box. */
export interface AsteriskMwi {
    id: string;
    new: number;
    old: number;
}

export function parseMessageWaiting(m: AmiMessage): AsteriskMwi | undefined {
    if (m.Event?.toLowerCase() !== 'messagewaiting' || !m.Mailbox) return undefined;
    const n = Number(m.New);
    const o = Number(m.Old);
    if (!Number.isInteger(n) || !Number.isInteger(o)) return undefined;
    return { id: m.Mailbox.includes('@') ? m.Mailbox : `${m.Mailbox}@default`, new: n, old: o };
}

/**
 * Old must match; New may count urgent or not (releases and code paths differ: MWI state carries
 * new + urgent, MailboxCount splits them). `Waiting` is ignored: with only urgent messages new
 * Asterisk says `Waiting: 0`.
 */
export function agrees(a: Pick<AsteriskMwi, 'new' | 'old'>, c: MwiCounts): boolean {
    return a.old === c.old && (a.new === c.new || a.new === c.new - c.urgent);
}

export interface ConvergerOptions {
    boxes: BoxDirectory;
    service: Pick<MwiService, 'request' | 'counts' | 'observe'>;
    /** Tells Asterisk the counts again (the AMI notifier). */
    correct(box: VoicemailBox, counts: MwiCounts): void;
    logger: Logger;
    settleMs?: number;
    maxCorrections?: number;
    windowMs?: number;
}

const STEADY = 'Asterisk keeps publishing this state; not correcting again until the counts change';

const key = (a: Pick<AsteriskMwi, 'new' | 'old'>, c: MwiCounts) => `${a.new}/${a.old}|${c.new}/${c.old}/${c.urgent}`;

export class Converger {
    /** Asterisk's latest published state per box (lower-case id). */
    private readonly theirs = new Map<string, AsteriskMwi>();
    private readonly timers = new Map<string, NodeJS.Timeout>();
    /** Boxes whose next count is a convergence check. */
    private readonly checking = new Set<string>();
    /** The disagreement last corrected per box: if Asterisk answers with it again, it is steady. */
    private readonly corrected = new Map<string, string>();
    private readonly recent = new Map<string, number[]>();
    private readonly warned = new Set<string>();

    constructor(private readonly opts: ConvergerOptions) {
        opts.service.observe((box, counts, notified) => this.counted(box, counts, notified));
    }

    onEvent(m: AmiMessage): void {
        const a = parseMessageWaiting(m);
        if (!a) return;
        const box = this.opts.boxes.get(a.id);
        if (!box) return;
        const id = box.id.toLowerCase();
        this.theirs.set(id, a);
        const ours = this.opts.service.counts(id);
        if (ours && agrees(a, ours)) {
            this.corrected.delete(id);
            return;
        }
        if (this.timers.has(id)) return;
        // Asterisk's steady answer to counts vmbridge still holds: not even a recount.
        if (ours && this.corrected.get(id) === key(a, ours)) return this.suppress(id, key(a, ours), { box: box.id, asterisk: { new: a.new, old: a.old }, vmbridge: ours }, STEADY);
        const timer = setTimeout(() => {
            this.timers.delete(id);
            this.checking.add(id);
            this.opts.service.request([box]);
        }, this.opts.settleMs ?? DEFAULTS.mwiConverge);
        timer.unref();
        this.timers.set(id, timer);
    }

    /** A check is waiting for its settle time (its recount then keeps the service busy). */
    busy(): boolean {
        return this.timers.size > 0;
    }

    stop(): void {
        for (const t of this.timers.values()) clearTimeout(t);
        this.timers.clear();
    }

    private counted(box: VoicemailBox, counts: MwiCounts, notified: boolean): void {
        const id = box.id.toLowerCase();
        if (!this.checking.delete(id)) return;
        const a = this.theirs.get(id);
        // Counts that changed go to Asterisk anyway; its next event is checked again.
        if (notified || !a || agrees(a, counts)) return;
        const k = key(a, counts);
        const log = { box: box.id, asterisk: { new: a.new, old: a.old }, vmbridge: counts };
        if (this.corrected.get(id) === k) return this.suppress(id, k, log, STEADY);
        const now = Date.now();
        const window = this.opts.windowMs ?? MWI_CORRECTION_WINDOW_MS;
        const recent = (this.recent.get(id) ?? []).filter(t => now - t < window);
        if (recent.length >= (this.opts.maxCorrections ?? DEFAULTS.mwiCorrections)) return this.suppress(id, k, log, `correction budget spent (${recent.length} in ${window} ms)`);
        recent.push(now);
        this.recent.set(id, recent);
        this.corrected.set(id, k);
        mwiCorrections.inc({ result: 'sent' });
        this.opts.logger.info(log, `Asterisk's message waiting for ${box.id} disagrees with a fresh count; correcting`);
        this.opts.correct(box, counts);
    }

    private suppress(id: string, k: string, log: object, why: string): void {
        mwiCorrections.inc({ result: 'suppressed' });
        // Once per disagreement, so a steady state is visible without flooding the log.
        if (this.warned.has(`${id}|${k}`)) return;
        if (this.warned.size >= MWI_WARNED_MAX) this.warned.clear();
        this.warned.add(`${id}|${k}`);
        this.opts.logger.warn(log, `Asterisk's message waiting disagrees with vmbridge's count: ${why}`);
    }
}
