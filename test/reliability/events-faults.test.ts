// The event side failing must not touch deliveries: memcached frozen or down, a subscriber that
// died (its registration still in memcached), a subscriber that never reads (frozen). Each
// delivery must still be stored and answered within a bound, since events run after the reply.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { freePort, waitFor } from '../helpers/net.js';
import { startProcess, type Started } from '../helpers/process.js';
import { ensureBuilt } from './child-bridge.js';
import { frozen, uniqueMessage } from './faults-util.js';

const USER = 'alice@example.org';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('deliveries while the event side fails', () => {
    let memcached: TestMemcached;
    let vmb: TestBridge;
    let dovecot: TestDovecot;
    let sub: Started | undefined;

    const storedCount = async () => {
        const imap = await dovecot.imap(USER);
        try {
            const status = await imap.status('INBOX', { messages: true });
            if (!status) throw new Error('STATUS INBOX failed');
            return status.messages ?? 0;
        } finally {
            await imap.logout();
        }
    };

    /**
     * Sends n messages one after another and checks each was stored. A hang on the event side fails
     * the test by its timeout; how slow the slowest one was is printed, not asserted (timings are
     * bench/'s business: bench/event-latency.mjs).
     */
    async function deliverMany(n: number, what: string): Promise<void> {
        const before = await storedCount();
        let worst = 0;
        for (let i = 0; i < n; i++) {
            const t = Date.now();
            const r = await send(vmb.lmtpPort, 'mta@example.org', [USER], uniqueMessage().bytes);
            worst = Math.max(worst, Date.now() - t);
            expect(r.final.map(f => f.code)).toEqual([250]);
        }
        expect(await storedCount()).toBe(before + n);
        console.log(`${what}: ${n} deliveries, slowest ${worst} ms`);
    }

    async function startSubscriber(): Promise<Started> {
        const bind = `tcp://127.0.0.1:${await freePort()}`;
        const p = startProcess(
            process.execPath,
            [path.join(ROOT, 'bin/vmbridge.js'), 'subscribe', '--resolver', memcached.resolver, '--user', USER, '--bind', bind, '--ttl', '60'],
            { cwd: ROOT }
        );
        // registered and reachable: a delivery's newmail arrives on its stdout
        await waitFor(
            async () => {
                await send(vmb.lmtpPort, 'mta@example.org', [USER], uniqueMessage().bytes);
                return p.output().includes('"newmail"');
            },
            20_000,
            'subscriber receives pushes'
        );
        return p;
    }

    beforeAll(async () => {
        ensureBuilt();
        memcached = await startMemcached();
        dovecot = await startDovecot();
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, resolver: memcached.resolver });
    });
    afterAll(async () => {
        await sub?.stop('SIGKILL');
        await vmb?.stop();
        await memcached?.stop();
        await dovecot?.destroy();
    });

    it('a subscriber that never reads (SIGSTOP) does not hold up deliveries', async () => {
        sub = await startSubscriber();
        const pid = sub.child.pid!;
        await frozen(pid, () => deliverMany(100, 'subscriber frozen'));
    });

    it('a dead subscriber still registered in memcached does not hold up deliveries', async () => {
        await sub!.stop('SIGKILL');
        sub = undefined;
        await deliverMany(40, 'dead subscriber');
    });

    it('memcached frozen (SIGSTOP): deliveries go on', async () => {
        await frozen(memcached.pid!, () => deliverMany(20, 'memcached frozen'));
    });

    it('memcached down: deliveries go on, and pushes resume when it is back', async () => {
        await memcached.stop();
        try {
            await deliverMany(20, 'memcached down');
        } finally {
            await memcached.start();
        }
        sub = await startSubscriber();
    });
});
