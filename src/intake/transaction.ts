// One MTA-side mail transaction: the downstream DeliveryTransaction it drives, the recipients
// accepted so far (in RCPT order, as smtp-server's per-recipient LMTP replies expect them).
import type { DeliveryTransaction, Recipient } from '../deliver/deliverer.js';

export class IntakeTransaction {
    readonly recipients: Recipient[] = [];
    private readonly seen = new Set<string>();
    private aborted = false;

    constructor(readonly id: string, readonly from: string, readonly downstream: DeliveryTransaction) {}

    /** A repeated RCPT for the same address must not reach the downstream twice. */
    has(address: string): boolean {
        return this.seen.has(address.toLowerCase());
    }

    async add(rcpt: Recipient): Promise<void> {
        await this.downstream.addRecipient(rcpt);
        this.seen.add(rcpt.address.toLowerCase());
        this.recipients.push(rcpt);
    }

    abort(): void {
        if (this.aborted) return;
        this.aborted = true;
        this.downstream.abort();
    }
}
