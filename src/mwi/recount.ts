// Recounts boxes (through the scheduler) and reports changes: an `mwi` event to the output sink
// and each notifier (AMI, externnotify). Counts are recomputed from IMAP every time, never
// incremented; when IMAP fails the last good count stands and nothing is published (never -1).
import { randomUUID } from 'node:crypto';
import { makeEvent, type VmEvent } from '../events/event.js';
import type { EventSink } from '../events/sink.js';
import type { Logger } from '../log.js';
import { mwiRecounts } from '../metrics.js';
import type { BoxDirectory, VoicemailBox } from './boxes.js';
import type { MwiCounts } from './count.js';
import { RecountScheduler } from './scheduler.js';
import { DEFAULTS } from '../config.js';

export interface BoxCounter {
    count(box: VoicemailBox): Promise<MwiCounts>;
}

/** Something told about a box's counts when they change (or on request). */
export interface MwiNotifier {
    notify(box: VoicemailBox, counts: MwiCounts): void;
}

/** Sees every good count (convergence checks, externnotify); `notified`: the notifiers get it too. */
export type CountObserver = (box: VoicemailBox, counts: MwiCounts, notified: boolean) => void;

/** Request flags. EMIT: publish an mwi event (and notify) even if unchanged; PUSH: notify only. */
export const EMIT = 1;
export const PUSH = 2;

export interface MwiServiceOptions {
    boxes: BoxDirectory;
    counter: BoxCounter;
    out: EventSink;
    notifiers?: MwiNotifier[];
    observers?: CountObserver[];
    logger: Logger;
    /** Coalescing window per box (ms). */
    debounceMs?: number;
}

export class MwiService {
    private readonly last = new Map<string, MwiCounts>();
    private readonly scheduler: RecountScheduler;

    constructor(private readonly opts: MwiServiceOptions) {
        this.scheduler = new RecountScheduler((id, flags) => this.recount(id, flags), {
            debounceMs: opts.debounceMs ?? DEFAULTS.mwiDebounce,
            logger: opts.logger
        });
    }

    /** Schedules recounts; `emit` (true = EMIT) publishes even when the counts did not change. */
    request(boxes: VoicemailBox[], emit: boolean | number = false): void {
        const flags = emit === true ? EMIT : emit === false ? 0 : emit;
        for (const b of boxes) this.scheduler.request(b.id, flags);
    }

    observe(observer: CountObserver): void {
        (this.opts.observers ??= []).push(observer);
    }

    /** The last good counts of a box, if it was ever counted. */
    counts(id: string): MwiCounts | undefined {
        return this.last.get(id.toLowerCase());
    }

    /** The last good counts of every counted box of a user, as mwi events (sent after a `reset`). */
    current(user: string): VmEvent[] {
        return this.opts.boxes
            .all()
            .filter(b => b.user === user && this.last.has(b.id.toLowerCase()))
            .map(b => mwiEvent(b, this.last.get(b.id.toLowerCase())!));
    }

    busy(): boolean {
        return this.scheduler.busy();
    }

    stop(): void {
        this.scheduler.stop();
    }

    private async recount(id: string, flags: number): Promise<void> {
        const box = this.opts.boxes.get(id);
        if (!box) return;
        let counts: MwiCounts;
        try {
            counts = await this.opts.counter.count(box);
            mwiRecounts.inc({ result: 'ok' });
        } catch (err) {
            mwiRecounts.inc({ result: 'error' });
            this.opts.logger.warn({ err: (err as Error).message, box: box.id, user: box.user }, 'mwi recount failed; keeping the last count');
            return;
        }
        const before = this.last.get(box.id.toLowerCase());
        this.last.set(box.id.toLowerCase(), counts);
        const changed = !before || before.new !== counts.new || before.old !== counts.old || before.urgent !== counts.urgent;
        // Observers first: a convergence check must know a notify is on its way.
        for (const o of this.opts.observers ?? []) o(box, counts, changed || (flags & (EMIT | PUSH)) !== 0);
        if (!changed && !flags) return;
        this.opts.logger.debug({ box: box.id, user: box.user, ...counts }, 'mwi');
        if (changed || flags & EMIT) this.opts.out.emit(mwiEvent(box, counts));
        for (const n of this.opts.notifiers ?? []) {
            try {
                n.notify(box, counts);
            } catch (err) {
                this.opts.logger.warn({ err: (err as Error).message, box: box.id }, 'mwi notifier failed');
            }
        }
    }
}

function mwiEvent(box: VoicemailBox, counts: MwiCounts): VmEvent {
    return makeEvent({ id: `mwi.${randomUUID()}`, type: 'mwi', user: box.user, mwi: { mailbox: box.id, ...counts } });
}
