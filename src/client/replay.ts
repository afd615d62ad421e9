// Where a client gets the events it missed: the bridge's replay endpoint (bus listeners) or the
// memcached journal itself (subscribers, which already talk to memcached).
import { readFileSync } from 'node:fs';
import type { VmEvent } from '../events/event.js';
import { replay } from '../publish/journal.js';
import { MemcachedJournal } from '../publish/journal-memcached.js';
import type { MemcachedClient } from '../memcached/client.js';
import { decodeEvent } from '../wire/json.js';
import { REPLAY_CLIENT_TIMEOUT_MS, JOURNAL_TIMEOUT_MS } from '../limits.js';

export const DEFAULT_REPLAY = 'http://127.0.0.1:8026';

/** `GET <base>/replay?user=&since=` on a bridge started with --replay (NDJSON, one event per line),
 * with its token; pages of the bridge's --replay-max are fetched until the cursor is caught up. */
export function httpReplay(base: string, user: string, token?: string): (since: number) => Promise<VmEvent[]> {
    return async since => {
        const events: VmEvent[] = [];
        for (let from = since, more = true; more;) {
            const url = new URL('/replay', base);
            url.searchParams.set('user', user);
            url.searchParams.set('since', String(from));
            const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
            const res = await fetch(url, { headers, signal: AbortSignal.timeout(REPLAY_CLIENT_TIMEOUT_MS) });
            if (!res.ok) throw new Error(`replay ${url}: HTTP ${res.status}`);
            const page: VmEvent[] = [];
            for (const line of (await res.text()).split('\n')) {
                const ev = line ? decodeEvent(line) : null;
                if (ev) page.push(ev);
            }
            events.push(...page);
            const last = page.at(-1)?.seq;
            more = res.headers.get('x-vmbridge-more') === '1' && last !== undefined && last > from;
            if (last !== undefined) from = last;
        }
        return events;
    };
}

/** The token `listen` presents: the given one, else <state-dir>/replay.token (serve's default). */
export function readReplayToken(file: string): string | undefined {
    try {
        return readFileSync(file, 'utf8').trim() || undefined;
    } catch {
        return undefined;
    }
}

/** The journal read straight from memcached (limits as the bridge's, by default theirs). */
export function memcachedReplay(client: MemcachedClient, user: string, maxCount?: number): (since: number) => Promise<VmEvent[]> {
    const journal = new MemcachedJournal(client, { maxCount, timeoutMs: JOURNAL_TIMEOUT_MS });
    return since => replay(journal, user, since);
}
