// One transaction's Dovecot events → one item per message and kind. MessageRead, MessageTrash,
// FlagsSet and FlagsClear of one message are ONE flag change (a \Seen is reported as both
// MessageRead and FlagsSet); an empty FlagsClear is dropped.
import type { Batch, DovecotEvent } from './batch.js';

interface At {
    mailbox: string;
    uid: number;
    uidValidity: number;
}
export type Item = (At & { kind: 'flag'; set: string[]; cleared: string[] }) | (At & { kind: 'new' | 'append'; messageId?: string }) | (At & { kind: 'expunge' });

export function normalize(batch: Batch): Item[] {
    const items: Item[] = [];
    const flags = new Map<string, { item: Item & { kind: 'flag' }; set: Set<string>; cleared: Set<string> }>();
    const flagItem = (ev: DovecotEvent) => {
        const key = `${ev.mailbox}\0${ev.uid_validity}\0${ev.uid}`;
        let f = flags.get(key);
        if (!f) {
            const item = { kind: 'flag' as const, ...at(ev), set: [], cleared: [] };
            f = { item, set: new Set(), cleared: new Set() };
            flags.set(key, f);
            items.push(item);
        }
        return f;
    };
    for (const ev of batch.events) {
        switch (ev.name) {
            case 'MessageNew':
            case 'MessageAppend':
                items.push({ kind: ev.name === 'MessageNew' ? 'new' : 'append', ...at(ev), messageId: ev.message_id || undefined });
                break;
            case 'MessageExpunge':
                items.push({ kind: 'expunge', ...at(ev) });
                break;
            case 'MessageRead':
                flagItem(ev).set.add('\\Seen');
                break;
            case 'MessageTrash':
                flagItem(ev).set.add('\\Deleted');
                break;
            case 'FlagsSet':
                for (const f of [...(ev.flags ?? []), ...(ev.keywords ?? [])]) flagItem(ev).set.add(f);
                break;
            case 'FlagsClear':
                if ((ev.flags?.length ?? 0) + (ev.keywords?.length ?? 0) === 0) break;
                for (const f of [...(ev.flags ?? []), ...(ev.keywords ?? [])]) flagItem(ev).cleared.add(f);
                break;
        }
    }
    for (const { item, set, cleared } of flags.values()) {
        item.set = [...set];
        item.cleared = [...cleared];
    }
    // A message whose only events were empty FlagsClear leaves an empty item: drop it.
    return items.filter(i => i.kind !== 'flag' || i.set.length + i.cleared.length > 0);
}

function at(ev: DovecotEvent): At {
    return { mailbox: ev.mailbox, uid: ev.uid, uidValidity: ev.uid_validity };
}
