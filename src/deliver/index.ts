// The one place a --deliver target (parsed by the schema: deliver/target.ts) becomes a Deliverer.
import type { Logger } from '../log.js';
import type { Deliverer } from './deliverer.js';
import { LdaDeliverer } from './lda.js';
import { LmtpDeliverer } from './lmtp.js';
import { MaildirDeliverer } from './maildir.js';
import type { DeliverTarget } from './target.js';
import type { Described } from '../config-values.js';

export interface DelivererOptions {
    /** Per phase (LMTP) or per stalled/finishing child (lda), ms; default 30 s. */
    timeoutMs?: number;
    /** LMTP: silence allowed after the final dot, ms (lmtp.ts). */
    dataDoneTimeoutMs?: number;
    logger?: Logger;
}

export function createDeliverer(target: Described<DeliverTarget>, opts: DelivererOptions = {}): Deliverer {
    switch (target.kind) {
        case 'lmtp':
            return new LmtpDeliverer(target, opts);
        case 'lda':
            return new LdaDeliverer(target, opts);
        case 'maildir':
            return new MaildirDeliverer(target, opts);
    }
}

export type { Deliverer, DeliveryTransaction, Envelope, Outcome, Recipient } from './deliverer.js';
export { SmtpError } from './deliverer.js';
