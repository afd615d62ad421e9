// Tells Asterisk about a box: VoicemailRefresh (app_voicemail recounts and publishes MWI itself;
// the default) or MWIUpdate (res_mwi_external_ami: vmbridge's counts are the truth). MWIUpdate's
// NewMessages is what phones show as new, urgent included.
import type { Logger } from '../log.js';
import type { AmiClient, AmiMessage } from './ami.js';
import type { VoicemailBox } from './boxes.js';
import type { MwiCounts } from './count.js';
import type { MwiNotifier } from './recount.js';

export const AMI_MODES = ['refresh', 'mwiupdate'] as const;
export type AmiMode = (typeof AMI_MODES)[number];

export function amiAction(mode: AmiMode, box: VoicemailBox, counts: MwiCounts): AmiMessage {
    return mode === 'mwiupdate'
        ? { Action: 'MWIUpdate', Mailbox: box.id, NewMessages: String(counts.new), OldMessages: String(counts.old) }
        : { Action: 'VoicemailRefresh', Context: box.context, Mailbox: box.mailbox };
}

export class AmiNotifier implements MwiNotifier {
    constructor(
        private readonly ami: AmiClient,
        private readonly mode: AmiMode,
        private readonly logger: Logger
    ) {}

    notify(box: VoicemailBox, counts: MwiCounts): void {
        this.ami.send(amiAction(this.mode, box, counts), box.id).catch(err => this.logger.debug({ err: (err as Error).message, box: box.id }, 'AMI action not delivered'));
    }
}
