// app_voicemail's externnotify, for scripts written for it: `<cmd> <context> <extension> <new>
// <old> <urgent>`, where new excludes urgent (inboxcount2's split). Run without a shell, so box
// names never reach a command line parser; bounded by a timeout. It sees every recount and runs
// whenever the counts differ from what it last handed the command successfully: a failed run, or
// a box never handed over since start, is made good by the next recount (start, resync, event).
import { execFile } from 'node:child_process';
import type { Logger } from '../log.js';
import type { VoicemailBox } from './boxes.js';
import type { MwiCounts } from './count.js';
import { EXTERNNOTIFY_TIMEOUT_MS } from '../limits.js';

export function externnotifyArgs(box: VoicemailBox, counts: MwiCounts): string[] {
    return [box.context, box.mailbox, String(counts.new - counts.urgent), String(counts.old), String(counts.urgent)];
}

const same = (a: MwiCounts | undefined, b: MwiCounts) => !!a && a.new === b.new && a.old === b.old && a.urgent === b.urgent;

export class ExternNotifier {
    /** Per box: what the command last accepted (exit 0). */
    private readonly given = new Map<string, MwiCounts>();
    /** Per box: a run in flight, and the counts to hand over after it. */
    private readonly running = new Map<string, MwiCounts | undefined>();

    constructor(
        private readonly command: string,
        private readonly logger: Logger,
        private readonly timeoutMs = EXTERNNOTIFY_TIMEOUT_MS
    ) {}

    /** A run is in flight. */
    get busy(): boolean {
        return this.running.size > 0;
    }

    /** A recount's result: runs the command unless it already has exactly these counts. */
    observe(box: VoicemailBox, counts: MwiCounts): void {
        const id = box.id.toLowerCase();
        if (this.running.has(id)) {
            this.running.set(id, counts);
            return;
        }
        if (same(this.given.get(id), counts)) return;
        this.running.set(id, undefined);
        execFile(this.command, externnotifyArgs(box, counts), { timeout: this.timeoutMs, shell: false }, err => {
            if (err) {
                this.given.delete(id);
                this.logger.warn({ err: err.message, command: this.command, box: box.id }, 'externnotify failed; it runs again on the next recount');
            } else this.given.set(id, counts);
            const next = this.running.get(id);
            this.running.delete(id);
            if (next) this.observe(box, next);
        });
    }
}
