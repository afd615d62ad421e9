// Event latency from an IMAP STORE +FLAGS \Seen on Dovecot → Dovecot's Lua hook → vmbridge's
// ingest endpoint → a PUB subscriber and subscribe() subscribers. Its own Dovecot (configured
// with `vmbridge dovecot-config --driver <driver>`: the Lua script or the native driver, built into
// a temp module dir) and bridge child, so the other phases run without the hook.
// STOREs go round-robin over the users, paced so one user's events are `spacingMs` apart (the
// burst coalescing window holds a user's events that come closer together, by design).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT, helper, latencyStats } from './env.mjs';
import { startBridgeChild } from './bridge-child.mjs';
import { busSubscriber, frameEvent, pushSubscribers } from './subscribers.mjs';
import { stageRows } from './stages.mjs';
import { ImapSession } from './imap-session.mjs';

export async function storeLatency({ memcached, stores = 1000, users = 10, spacingMs = 150, driver = 'lua', stages = false }) {
    const { MASTER, startDovecot } = await helper('dovecot.ts');
    const { freePort, waitFor } = await helper('net.ts');
    const { send } = await helper('lmtp-client.ts');
    const { driverArgs } = await helper('native-driver.ts');
    const USERS = Array.from({ length: users }, (_, i) => `st${i}@example.org`);
    const ingest = `127.0.0.1:${await freePort()}`;
    const token = 'bench-token-0123456789abcdef';
    const fragment = execFileSync(process.execPath, [path.join(ROOT, 'bin/vmbridge.js'), 'dovecot-config', '--ingest', ingest, '--ingest-token', token, ...driverArgs(driver)], {
        cwd: ROOT,
        encoding: 'utf8'
    });
    const dovecot = await startDovecot({ users: USERS, extraConfig: fragment });
    const bridge = await startBridgeChild(`store-latency-${driver}`, { deliver: dovecot.lmtpUrl, resolver: memcached.resolver, ingest, ingestToken: token, logLevel: 'warn' });
    const bus = new Map();
    const push = new Map();
    const key = ev => `${ev.user}:${ev.uid}`;
    const sub = await busSubscriber(bridge.publish, (buf, t) => {
        const ev = frameEvent(buf);
        if (ev.type === 'flag' && !bus.has(key(ev))) bus.set(key(ev), t);
    });
    const subs = await pushSubscribers(memcached.resolver, USERS, (ev, _u, t) => ev.type === 'flag' && !push.has(key(ev)) && push.set(key(ev), t));
    const clients = [];
    try {
        const perUser = Math.ceil(stores / users);
        const msg = Buffer.from('From: a@example.net\r\nSubject: store bench\r\n\r\nhello\r\n');
        for (const u of USERS) for (let i = 0; i < perUser; i++) await send(dovecot.lmtpPort, 'a@example.net', [u], msg);
        // A bare session (lib/imap-session.mjs): "command sent" is the write of the STORE line.
        for (const u of USERS) clients.push(await ImapSession.open(dovecot.imapPort, `${u}*${MASTER.user}`, MASTER.password));
        // warm-up: the first STORE of each session loads the Lua script; wait until events flow
        await waitFor(
            async () => {
                for (const c of clients) await c.command(`UID STORE ${perUser} +FLAGS (\\Flagged)`);
                await new Promise(r => setTimeout(r, 200));
                return bus.size > 0 && push.size > 0;
            },
            20_000,
            'hook events'
        );
        bus.clear();
        push.clear();
        if (stages) await bridge.stages();
        const issued = new Map();
        const replied = new Map(); // when the tagged OK came
        const gap = spacingMs / users;
        const t0 = performance.now();
        for (let n = 0; n < stores; n++) {
            const u = n % users;
            const uid = Math.floor(n / users) + 1;
            const wait = t0 + n * gap - performance.now();
            if (wait > 0) await new Promise(r => setTimeout(r, wait));
            await clients[u].command(`UID STORE ${uid} +FLAGS (\\Seen)`);
            issued.set(`${USERS[u]}:${uid}`, clients[u].sentAt);
            replied.set(`${USERS[u]}:${uid}`, clients[u].repliedAt);
        }
        const rate = stores / ((performance.now() - t0) / 1000);
        await waitFor(() => issued.size && [...issued.keys()].every(k => bus.has(k) && push.has(k)), 10_000).catch(() => undefined);
        // from the STORE line's write, and from its tagged OK (when the change is done and visible
        // to the client: what the LMTP rows' 250 is to a delivery)
        const arrivals = (m, from) => {
            const ms = [...from].filter(([k]) => m.has(k)).map(([k, t]) => Number(m.get(k) - t) / 1e6);
            return { ...latencyStats(ms), lost: from.size - ms.length };
        };
        const segments = [
            ['start', 'reply'],
            ['reply', 'hook'],
            ['hook', 'index'],
            ['index', 'indexed'],
            ['indexed', 'entry'],
            ['entry', 'out'],
            ['out', 'bus'],
            ['out', 'push']
        ];
        return {
            driver,
            stores,
            users,
            ratePerSec: Math.round(rate),
            bus: arrivals(bus, issued),
            subscribe: arrivals(push, issued),
            fromReply: { bus: arrivals(bus, replied), subscribe: arrivals(push, replied) },
            stages: stages ? stageRows(issued, await bridge.stages(), { bus, push, reply: replied }, segments) : undefined
        };
    } finally {
        for (const c of clients) c.close();
        sub.close();
        await subs.close();
        await bridge.stop();
        await dovecot.destroy();
    }
}
