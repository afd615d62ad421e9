// EventFront.shareMemcached against a real memcached: with one server the resolver gets the
// journal's client (and closes it; the front's stop no longer does), and the pusher's lookup goes
// out right behind the user's INCR on that connection — so a subscriber registered before its
// allocation was answered is found. With several servers or the embedded journal nothing is shared.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { VmEvent } from '../../src/events/event.js';
import { createLogger } from '../../src/log.js';
import { EventFront, type EventFrontConfig } from '../../src/publish/front.js';
import { flag } from '../catchup/util.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';

const log = createLogger('silent');
/** serve's configuration for this --resolver, state in a temp dir. */
const config = (resolver: string | undefined, stateDir: string): EventFrontConfig => loadConfig({ ...(resolver ? { resolver } : {}), stateDir }, {});

describe('EventFront.shareMemcached', () => {
    let mc: TestMemcached;
    let dir: string;
    beforeAll(async () => {
        dir = mkdtempSync(path.join(tmpdir(), 'vmb-front-'));
        mc = await startMemcached();
    });
    afterAll(async () => {
        await mc?.stop();
        rmSync(dir, { recursive: true, force: true });
    });

    it('one server: hands the journal client over; lookups go out once the allocation is sent, and the front leaves the client open', async () => {
        const front = new EventFront(config(mc.resolver, dir), log);
        const client = front.shareMemcached();
        expect(client).toBeDefined();
        const order: string[] = [];
        const got: VmEvent[] = [];
        let answered = false;
        // memjs's promise form calls its callback form: marking the callback sees every answer.
        const c = client as unknown as { increment: (...a: unknown[]) => unknown };
        const incr = c.increment.bind(c);
        c.increment = (...a) =>
            typeof a[3] === 'function' ? incr(a[0], a[1], a[2], (...r: unknown[]) => ((answered = true), (a[3] as (...r: unknown[]) => void)(...r))) : incr(...a);
        let lookup: Promise<unknown> | undefined;
        // The sink's prepare() stands for the pusher's lookup: on the shared client, behind the INCR.
        front.add({
            prepare: user => {
                order.push(`prepare ${user}, INCR ${answered ? 'answered' : 'sent'}`);
                lookup = client!.get('vmbridge:seq:carl').then(r => order.push(`lookup saw seq ${r.value?.toString()}`));
            },
            emit: ev => void got.push(ev)
        });
        front.emit(flag('carl', 'c1', 1));
        await front.stop();
        await lookup;
        expect(got.map(e => e.seq)).toEqual([1]);
        // sent before the INCR was answered, and answered by memcached after it
        expect(order).toEqual(['prepare carl, INCR sent', 'lookup saw seq 1']);
        // still open after the front stopped: the resolver closes it
        expect((await client!.get('vmbridge:seq:carl')).value?.toString()).toBe('1');
        client!.close();
    });

    it('several servers or the embedded journal: nothing is shared, lookups wait for the allocation', async () => {
        const two = new EventFront(config(`${mc.resolver} --SERVER=127.0.0.1:1`, dir), log);
        expect(two.shareMemcached()).toBeUndefined();
        await two.stop();
        const embedded = new EventFront(config(undefined, dir), log);
        expect(embedded.shareMemcached()).toBeUndefined();
        await embedded.stop();
    });
});
