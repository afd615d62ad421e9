// Shared by the listen and subscribe commands: one JSON event per line on stdout, honouring backpressure.
import { once } from 'node:events';
import type { VmEvent } from '../events/event.js';

export async function printEvents(events: AsyncIterable<VmEvent>, encode: (ev: VmEvent) => string): Promise<void> {
    for await (const ev of events) {
        if (!process.stdout.write(encode(ev) + '\n')) await once(process.stdout, 'drain');
    }
}
