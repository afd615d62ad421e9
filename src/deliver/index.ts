// The one place a --deliver target string becomes a Deliverer (forms: see config.ts).
import type { Logger } from '../log.js';
import type { Deliverer } from './deliverer.js';
import { LdaDeliverer } from './lda.js';
import { LmtpDeliverer } from './lmtp.js';
import { MaildirDeliverer } from './maildir.js';

export interface DelivererOptions {
    /** Per phase (LMTP) or per stalled/finishing child (lda), ms; default 30 s. */
    timeoutMs?: number;
    /** LMTP: silence allowed after the final dot, ms (lmtp.ts). */
    dataDoneTimeoutMs?: number;
    logger?: Logger;
}

export function createDeliverer(target: string, opts: DelivererOptions = {}): Deliverer {
    if (target.startsWith('lmtp:')) return new LmtpDeliverer(target, opts);
    if (target.startsWith('lda:')) return new LdaDeliverer(target, opts);
    if (target.startsWith('maildir:')) return new MaildirDeliverer(target, opts);
    throw new Error(`unknown delivery target ${target}: expected lmtp://host:port, lmtp:/socket, lda:<path> or maildir:<dir>`);
}

export type { Deliverer, DeliveryTransaction, Envelope, Outcome, Recipient } from './deliverer.js';
export { SmtpError } from './deliverer.js';
