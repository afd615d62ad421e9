// /readyz reports each memcached server of --resolver; memcached down degrades (push resolution
// suffers) but never fails readiness: mail still flows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { freePort, waitFor } from '../helpers/net.js';

describe('readiness with a memcached resolver', () => {
    let dovecot: TestDovecot;
    let mc: TestMemcached;
    let vmb: TestBridge;
    let admin = '';
    const ready = async () => {
        const r = await fetch(`http://${admin}/readyz`);
        return { status: r.status, j: await r.json() };
    };

    beforeAll(async () => {
        admin = `127.0.0.1:${await freePort()}`;
        [dovecot, mc] = await Promise.all([startDovecot(), startMemcached()]);
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, resolver: mc.resolver, admin });
    });

    afterAll(async () => {
        await vmb?.stop();
        await Promise.all([mc?.stop(), dovecot?.destroy()]);
    });

    it('each server with its version; stopped: degraded and still 200; back: ok', async () => {
        const up = await ready();
        expect(up.status).toBe(200);
        expect(up.j.dependencies.memcached).toMatchObject({ status: 'ok', required: false, servers: [{ server: mc.server, ok: true }] });
        expect(up.j.dependencies.memcached.servers[0].version).toMatch(/^\d+\.\d+/);
        await mc.stop();
        const down = await waitFor(
            async () => {
                const r = await ready();
                return r.j.dependencies.memcached.status === 'degraded' ? r : undefined;
            },
            10_000,
            'memcached degraded'
        );
        expect(down.status).toBe(200);
        expect(down.j).toMatchObject({ ok: true, status: 'degraded', dependencies: { memcached: { servers: [{ server: mc.server, ok: false }] } } });
        await mc.start();
        await waitFor(async () => (await ready()).j.dependencies.memcached.status === 'ok' || undefined, 10_000, 'memcached ok');
    });
});
