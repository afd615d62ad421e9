// An in-memory Deliverer for intake tests that must not depend on a real downstream: it
// records what would have been committed, and commits only a transaction that was not aborted.
import type { Readable } from 'node:stream';
import { tempFail, type Deliverer, type DeliveryTransaction, type Envelope, type Outcome, type Recipient } from '../../src/deliver/deliverer.js';

export interface Stored {
    envelope: Envelope;
    rcpt: Recipient;
    body: Buffer;
}

export class MemoryDeliverer implements Deliverer {
    readonly target = 'memory';
    readonly stored: Stored[] = [];
    begun = 0;
    aborted = 0;

    async begin(envelope: Envelope): Promise<DeliveryTransaction> {
        this.begun++;
        const rcpts: Recipient[] = [];
        let aborted = false;
        return {
            addRecipient: async r => void rcpts.push(r),
            data: async (message: Readable): Promise<Outcome[]> => {
                const chunks: Buffer[] = [];
                try {
                    for await (const c of message) chunks.push(c as Buffer);
                } catch {
                    aborted = true;
                }
                if (aborted) return rcpts.map(() => ({ ok: false, error: tempFail('aborted') }));
                const body = Buffer.concat(chunks);
                for (const rcpt of rcpts) this.stored.push({ envelope, rcpt, body });
                return rcpts.map(() => ({ ok: true, text: '2.0.0 Ok: stored' }));
            },
            abort: () => {
                if (!aborted) this.aborted++;
                aborted = true;
            }
        };
    }

    async close(): Promise<void> {}
}

export const nullObserver = { expect() {}, stored() {}, failed() {} };
