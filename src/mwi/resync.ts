// Recounts of every known box (voicemail.conf and boxes learned from events): at start, on every
// AMI reconnect, when the event side reports a gap, and every `intervalMs` if set. They are paced
// at `ratePerSec` boxes a second so 10,000 boxes never hit Dovecot at once; a resync asked for
// while one is under way merges into it (a box is queued once, with the union of the flags).
import type { Logger } from '../log.js';
import type { BoxDirectory } from './boxes.js';
import type { MwiService } from './recount.js';
import { MWI_RESYNC_TICK_MS } from '../limits.js';

export interface ResyncOptions {
    /** Periodic full recount; 0 = only on start, reconnects and gaps. */
    intervalMs: number;
    ratePerSec: number;
    logger?: Logger;
    /** Pacing tick (ms); the rate is spread over ticks. */
    tickMs?: number;
}

export class Resync {
    private periodic?: NodeJS.Timeout;
    private tick?: NodeJS.Timeout;
    private readonly queue = new Map<string, number>();
    private credit = 0;

    constructor(
        private readonly boxes: BoxDirectory,
        private readonly mwi: Pick<MwiService, 'request'>,
        private readonly opts: ResyncOptions
    ) {}

    /** Counts every box once now (pushing the counts to Asterisk), then every intervalMs. */
    start(flags = 0): void {
        this.all('start', flags);
        if (this.opts.intervalMs > 0 && !this.periodic) {
            this.periodic = setInterval(() => this.all('periodic'), this.opts.intervalMs);
            this.periodic.unref();
        }
    }

    /** Queues every known box; flags as for MwiService.request (PUSH: tell Asterisk even if unchanged). */
    all(reason: string, flags = 0): void {
        const boxes = this.boxes.all();
        if (!boxes.length) return;
        for (const b of boxes) this.queue.set(b.id, (this.queue.get(b.id) ?? 0) | flags);
        this.opts.logger?.info({ reason, boxes: boxes.length, queued: this.queue.size, ratePerSec: this.opts.ratePerSec }, 'mwi resync');
        if (!this.tick) {
            this.credit = Math.max(1, this.perTick());
            this.drain();
        }
    }

    /** Boxes still waiting for their paced recount. */
    get pending(): number {
        return this.queue.size;
    }

    stop(): void {
        clearInterval(this.periodic);
        clearTimeout(this.tick);
        this.periodic = this.tick = undefined;
        this.queue.clear();
    }

    private perTick(): number {
        return (this.opts.ratePerSec * (this.opts.tickMs ?? MWI_RESYNC_TICK_MS)) / 1000;
    }

    private drain(): void {
        this.tick = undefined;
        for (const [id, flags] of this.queue) {
            if (this.credit < 1 - 1e-9) break; // float sums of rate/10 may fall just short
            this.queue.delete(id);
            this.credit--;
            const box = this.boxes.get(id);
            if (box) this.mwi.request([box], flags);
        }
        if (!this.queue.size) return;
        this.credit += this.perTick();
        this.tick = setTimeout(() => this.drain(), this.opts.tickMs ?? MWI_RESYNC_TICK_MS);
        this.tick.unref();
    }
}
