// app_voicemail's externnotify, for scripts written for it: `<cmd> <context> <extension> <new>
// <old> <urgent>`, where new excludes urgent (inboxcount2's split). Run without a shell, so box
// names never reach a command line parser; bounded by a timeout.
import { execFile } from 'node:child_process';
import type { Logger } from '../log.js';
import type { VoicemailBox } from './boxes.js';
import type { MwiCounts } from './count.js';
import type { MwiNotifier } from './recount.js';

export function externnotifyArgs(box: VoicemailBox, counts: MwiCounts): string[] {
    return [box.context, box.mailbox, String(counts.new - counts.urgent), String(counts.old), String(counts.urgent)];
}

export class ExternNotifier implements MwiNotifier {
    constructor(
        private readonly command: string,
        private readonly logger: Logger,
        private readonly timeoutMs = 10_000
    ) {}

    notify(box: VoicemailBox, counts: MwiCounts): void {
        execFile(this.command, externnotifyArgs(box, counts), { timeout: this.timeoutMs, shell: false }, err => {
            if (err) this.logger.warn({ err: err.message, command: this.command, box: box.id }, 'externnotify failed');
        });
    }
}
