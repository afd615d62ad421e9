// One MTA-side mail transaction: the downstream DeliveryTransaction it drives and the recipients
// accepted so far, in RCPT order (as smtp-server's per-recipient LMTP replies expect them). A
// recipient is either a Dovecot user (added to the downstream live) or relayed to the smart host.
import type { DeliveryTransaction, Recipient } from '../deliver/deliverer.js';

/** An accepted RCPT: `user` for a local copy, absent when it is relayed to the smart host as addressed. */
export interface Entry {
    address: string;
    user?: string;
}

export class IntakeTransaction {
    /** Every accepted recipient, in RCPT order. */
    readonly entries: Entry[] = [];
    private readonly seen = new Set<string>();
    private readonly stop = new AbortController();

    constructor(
        readonly id: string,
        readonly from: string,
        public downstream: DeliveryTransaction
    ) {}

    /** The recipients held by the downstream transaction, in the order it answers for them. */
    get recipients(): Recipient[] {
        return this.entries.filter((e): e is Recipient => e.user !== undefined);
    }

    /** Aborted on RSET, disconnect, timeout or an oversized message: every copy must then be dropped. */
    get signal(): AbortSignal {
        return this.stop.signal;
    }

    /** A repeated RCPT for the same address must not reach the downstream twice. */
    has(address: string): boolean {
        return this.seen.has(address.toLowerCase());
    }

    async add(rcpt: Recipient): Promise<void> {
        await this.downstream.addRecipient(rcpt);
        this.accept({ address: rcpt.address, user: rcpt.user });
    }

    addRelay(address: string): void {
        this.accept({ address });
    }

    abort(): void {
        if (this.stop.signal.aborted) return;
        this.stop.abort();
        this.downstream.abort();
    }

    private accept(entry: Entry): void {
        this.seen.add(entry.address.toLowerCase());
        this.entries.push(entry);
    }
}
