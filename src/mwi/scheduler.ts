// Per-key coalescing of recounts. The first request after a quiet period runs at once; requests
// while a run is in flight or within `debounceMs` of its start merge into ONE further run, which
// starts no earlier than debounceMs after the previous start. Never two runs of one key at once.
// Requests carry flag bits (what the caller wants done with the result); merged requests OR them.
import type { Logger } from '../log.js';

export type Job = (key: string, flags: number) => Promise<void>;

interface KeyState {
    running: boolean;
    timer?: NodeJS.Timeout;
    /** A request arrived during the run: run again after it. */
    dirty: boolean;
    /** The merged requests' flags, for the next run. */
    flags: number;
    lastStart: number;
}

export class RecountScheduler {
    private readonly keys = new Map<string, KeyState>();
    private stopped = false;

    constructor(
        private readonly job: Job,
        private readonly opts: { debounceMs: number; logger: Logger }
    ) {}

    request(key: string, flags = 0): void {
        if (this.stopped) return;
        let s = this.keys.get(key);
        if (!s) this.keys.set(key, (s = { running: false, dirty: false, flags: 0, lastStart: -Infinity }));
        s.flags |= flags;
        if (s.running) {
            s.dirty = true;
            return;
        }
        if (s.timer) return;
        const wait = s.lastStart + this.opts.debounceMs - Date.now();
        if (wait <= 0) this.start(key, s);
        else s.timer = setTimeout(() => this.start(key, s), wait);
    }

    /** True while any key has a run in flight or scheduled. */
    busy(): boolean {
        for (const s of this.keys.values()) if (s.running || s.timer || s.dirty) return true;
        return false;
    }

    stop(): void {
        this.stopped = true;
        for (const s of this.keys.values()) clearTimeout(s.timer);
        this.keys.clear();
    }

    private start(key: string, s: KeyState): void {
        s.timer = undefined;
        s.running = true;
        s.dirty = false;
        s.lastStart = Date.now();
        const flags = s.flags;
        s.flags = 0;
        this.job(key, flags)
            .catch(err => this.opts.logger.warn({ err: (err as Error).message, box: key }, 'mwi recount failed'))
            .finally(() => {
                s.running = false;
                if (s.dirty && !this.stopped) {
                    s.dirty = false;
                    this.request(key, s.flags);
                }
            });
    }
}
