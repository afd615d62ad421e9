// Where a client gets the events it missed: the bridge's replay endpoint (bus listeners) or the
// memcached journal itself (subscribers, which already talk to memcached).
import type { VmEvent } from '../events/event.js';
import { replay } from '../publish/journal.js';
import { MemcachedJournal } from '../publish/journal-memcached.js';
import type { MemcachedClient } from '../resolve/client.js';
import { decodeEvent } from '../wire/json.js';

export const DEFAULT_REPLAY = 'http://127.0.0.1:8026';
const HTTP_TIMEOUT_MS = 10_000;

/** `GET <base>/replay?user=&since=` on a bridge started with --replay (NDJSON, one event per line). */
export function httpReplay(base: string, user: string): (since: number) => Promise<VmEvent[]> {
    return async since => {
        const url = new URL('/replay', base);
        url.searchParams.set('user', user);
        url.searchParams.set('since', String(since));
        const res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
        if (!res.ok) throw new Error(`replay ${url}: HTTP ${res.status}`);
        const events: VmEvent[] = [];
        for (const line of (await res.text()).split('\n')) {
            const ev = line ? decodeEvent(line) : null;
            if (ev) events.push(ev);
        }
        return events;
    };
}

/** The journal read straight from memcached (limits as the bridge's, by default theirs). */
export function memcachedReplay(client: MemcachedClient, user: string, maxCount?: number): (since: number) => Promise<VmEvent[]> {
    const journal = new MemcachedJournal(client, { maxCount, timeoutMs: 1000 });
    return since => replay(journal, user, since);
}
