// Per-key coalescing of recounts. The first request after a quiet period runs at once; requests
// while a run is in flight or within `debounceMs` of its start merge into ONE further run, which
// starts no earlier than debounceMs after the previous start. Never two runs of one key at once.
import type { Logger } from '../log.js';

export type Job = (key: string, emit: boolean) => Promise<void>;

interface KeyState {
    running: boolean;
    timer?: NodeJS.Timeout;
    /** A request arrived during the run: run again after it. */
    dirty: boolean;
    /** Some merged request asked for an mwi event even if nothing changed. */
    emit: boolean;
    lastStart: number;
}

export class RecountScheduler {
    private readonly keys = new Map<string, KeyState>();
    private stopped = false;

    constructor(
        private readonly job: Job,
        private readonly opts: { debounceMs: number; logger: Logger }
    ) {}

    request(key: string, emit = false): void {
        if (this.stopped) return;
        let s = this.keys.get(key);
        if (!s) this.keys.set(key, (s = { running: false, dirty: false, emit: false, lastStart: -Infinity }));
        s.emit ||= emit;
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
        const emit = s.emit;
        s.emit = false;
        this.job(key, emit)
            .catch(err => this.opts.logger.warn({ err: (err as Error).message, box: key }, 'mwi recount failed'))
            .finally(() => {
                s.running = false;
                if (s.dirty && !this.stopped) {
                    s.dirty = false;
                    this.request(key, s.emit);
                }
            });
    }
}
