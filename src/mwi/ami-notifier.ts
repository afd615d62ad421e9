// Tells Asterisk about a box: VoicemailRefresh (app_voicemail recounts and publishes MWI itself;
// the default) or MWIUpdate (res_mwi_external_ami: vmbridge's counts are the truth). MWIUpdate's
// NewMessages is what phones show as new, urgent included. Every outcome is counted; a refusal is
// a warning that names the manager.conf fix, and marks AMI degraded until that action works.
import type { Logger } from '../log.js';
import { amiActions } from '../metrics.js';
import { AmiRefused, type AmiClient, type AmiMessage } from './ami.js';
import { amiFix } from './ami-fix.js';
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

export interface AmiRefusal {
    action: string;
    box: string;
    reason: string;
    fix: string;
    at: string;
}

export interface AmiHealth {
    status: 'ok' | 'degraded';
    connected: boolean;
    version?: string;
    problem?: string;
    refused?: AmiRefusal[];
}

export class AmiNotifier implements MwiNotifier {
    /** The last refusal per action, until that action succeeds again (e.g. after manager reload). */
    private readonly refused = new Map<string, AmiRefusal>();

    constructor(
        private readonly ami: AmiClient,
        private readonly mode: AmiMode,
        private readonly logger: Logger
    ) {}

    notify(box: VoicemailBox, counts: MwiCounts): void {
        const action = amiAction(this.mode, box, counts);
        const name = action.Action;
        this.ami.send(action, box.id).then(
            () => {
                amiActions.inc({ action: name, result: 'ok' });
                this.refused.delete(name);
            },
            err => {
                if (err instanceof AmiRefused) {
                    amiActions.inc({ action: name, result: 'refused' });
                    const fix = amiFix(name, err.reason);
                    this.refused.set(name, { action: name, box: box.id, reason: err.reason, fix, at: new Date().toISOString() });
                    this.logger.warn({ action: name, box: box.id, reason: err.reason, fix }, `AMI ${name} for ${box.id} refused: ${err.reason}; ${fix}`);
                } else if (!this.ami.stopped) {
                    // Unreachable Asterisk is logged once by the client; the action is queued again.
                    amiActions.inc({ action: name, result: 'failed' });
                    this.logger.debug({ err: (err as Error).message, action: name, box: box.id }, 'AMI action not delivered');
                }
            }
        );
    }

    /** Degraded while Asterisk is unreachable, refuses the login, or refuses an action. */
    health(): AmiHealth {
        const s = this.ami.status();
        const refused = [...this.refused.values()];
        const degraded = !!s.problem || refused.length > 0;
        return {
            status: degraded ? 'degraded' : 'ok',
            connected: s.connected,
            ...(s.version && { version: s.version }),
            ...(s.problem && { problem: s.problem === 'login' ? 'login refused' : 'unreachable' }),
            ...(refused.length && { refused })
        };
    }
}
