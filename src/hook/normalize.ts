// One transaction's Dovecot events → one item per message and kind. MessageRead, MessageTrash,
// FlagsSet and FlagsClear of one message are ONE flag change (a \Seen is reported as both
// MessageRead and FlagsSet); an empty FlagsClear is dropped.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { HOOK_EVENT_SLICE } from '../limits.js';
import type { Batch, DovecotEvent } from './batch.js';

interface At {
    mailbox: string;
    uid: number;
    uidValidity: number;
}
/** headersBase64: the message's classification header lines, when the hook sent them (native
 * driver); decoded only where a message is classified from them (events/correlate.ts). */
export type Item =
    (At & { kind: 'flag'; set: string[]; cleared: string[] }) | (At & { kind: 'new' | 'append'; messageId?: string; headersBase64?: string }) | (At & { kind: 'expunge' });

type FlagEntry = { item: Item & { kind: 'flag' }; set: Set<string>; cleared: Set<string> };

export function normalize(batch: Batch): Item[] {
    const n = new Normalizer();
    for (const ev of batch.events) n.add(ev);
    return n.items();
}

/** The same, HOOK_EVENT_SLICE events per turn of the event loop for a large batch (a STORE over
 * 70,000 messages); a batch of one slice or less is done at once (no Promise). */
export function normalizeInSlices(batch: Batch): Item[] | Promise<Item[]> {
    return batch.events.length <= HOOK_EVENT_SLICE ? normalize(batch) : sliced(batch);
}

async function sliced(batch: Batch): Promise<Item[]> {
    const n = new Normalizer();
    for (let i = 0; i < batch.events.length; i++) {
        if (i && i % HOOK_EVENT_SLICE === 0) await yieldToLoop();
        n.add(batch.events[i]);
    }
    return n.items();
}

/** Folds a transaction's events, in order, into items (one flag item per message). */
class Normalizer {
    private readonly list: Item[] = [];
    private readonly flags = new Map<string, FlagEntry>();

    add(ev: DovecotEvent): void {
        switch (ev.name) {
            case 'MessageNew':
            case 'MessageAppend':
                this.list.push({
                    kind: ev.name === 'MessageNew' ? 'new' : 'append',
                    ...at(ev),
                    messageId: ev.message_id || undefined,
                    ...(ev.headers_base64 === undefined ? {} : { headersBase64: ev.headers_base64 })
                });
                break;
            case 'MessageExpunge':
                this.list.push({ kind: 'expunge', ...at(ev) });
                break;
            case 'MessageRead':
                this.flag(ev).set.add('\\Seen');
                break;
            case 'MessageTrash':
                this.flag(ev).set.add('\\Deleted');
                break;
            case 'FlagsSet':
                for (const f of [...(ev.flags ?? []), ...(ev.keywords ?? [])]) this.flag(ev).set.add(f);
                break;
            case 'FlagsClear':
                if ((ev.flags?.length ?? 0) + (ev.keywords?.length ?? 0) === 0) break;
                for (const f of [...(ev.flags ?? []), ...(ev.keywords ?? [])]) this.flag(ev).cleared.add(f);
                break;
        }
    }

    items(): Item[] {
        for (const { item, set, cleared } of this.flags.values()) {
            item.set = [...set];
            item.cleared = [...cleared];
        }
        // A message whose only events were empty FlagsClear leaves an empty item: drop it.
        return this.list.filter(i => i.kind !== 'flag' || i.set.length + i.cleared.length > 0);
    }

    private flag(ev: DovecotEvent): FlagEntry {
        const key = `${ev.mailbox}\0${ev.uid_validity}\0${ev.uid}`;
        let f = this.flags.get(key);
        if (!f) {
            const item = { kind: 'flag' as const, ...at(ev), set: [], cleared: [] };
            f = { item, set: new Set(), cleared: new Set() };
            this.flags.set(key, f);
            this.list.push(item);
        }
        return f;
    }
}

function at(ev: DovecotEvent): At {
    return { mailbox: ev.mailbox, uid: ev.uid, uidValidity: ev.uid_validity };
}
