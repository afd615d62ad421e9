// Periodic recount of every known box: heals events lost while the bridge or Dovecot's hook was
// down. Off unless an interval is configured; publishes only what changed.
import type { BoxDirectory } from './boxes.js';
import type { MwiService } from './recount.js';

export class Resync {
    private timer?: NodeJS.Timeout;

    constructor(
        private readonly boxes: BoxDirectory,
        private readonly mwi: Pick<MwiService, 'request'>,
        private readonly intervalMs: number
    ) {}

    /** Counts every box once now, then every intervalMs. */
    start(): void {
        if (this.intervalMs <= 0 || this.timer) return;
        this.run();
        this.timer = setInterval(() => this.run(), this.intervalMs);
        this.timer.unref();
    }

    run(): void {
        this.mwi.request(this.boxes.all());
    }

    stop(): void {
        clearInterval(this.timer);
        this.timer = undefined;
    }
}
