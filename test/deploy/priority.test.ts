// serve's --nice (src/commands/priority.ts): `auto` (the default) lowers every thread of the
// process to nice 10 once Dovecot's native driver proves its key (a hello without user on a
// stream connection) and never for the Lua script's per-session hello; a number applies at
// start, to the threads V8 and libuv started before the option was read and to the worker
// threads the bridge starts after; a lower priority it was started with is never raised.
import net from 'node:net';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { signedLine, nowTs, helloLine } from '../helpers/hook-sign.js';
import { freePort, waitFor } from '../helpers/net.js';
import { threadStats } from '../helpers/process.js';
import { sideListeners, startServe, type Serve } from './cli.js';

const TOKEN = 'deploy-test-token-0123456789abcdef'; // sideListeners' ingest token

/** The nice values of serve's threads (field 19 of /proc/<pid>/task/<tid>/stat). */
const niceOf = (s: Serve) => new Set(threadStats(s.child.pid!).map(f => Number(f[16])));

/** Resolves once serve has verified a hook hello: its silence gauge leaves -1 (never heard). */
async function heard(admin: string): Promise<void> {
    const silence = async () => Number(/^vmbridge_hook_silence_seconds\{hook="ingest"\} (\S+)/m.exec(await (await fetch(`http://${admin}/metrics`)).text())?.[1] ?? -1);
    await waitFor(async () => (await silence()) >= 0, 10_000, 'the hello heard');
}

/** Opens a hook stream connection to serve's ingest and writes `line`; resolves once it is written. */
async function hookHello(s: Serve, line: string | Buffer): Promise<net.Socket> {
    const [host, port] = s.args[s.args.indexOf('--ingest') + 1].split(':');
    const sock = net.connect(Number(port), host);
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    await new Promise<void>(resolve => sock.write(line, () => resolve()));
    return sock;
}

describe('serve --nice', () => {
    let serve: Serve | undefined;
    const socks: net.Socket[] = [];
    afterEach(async () => {
        socks.splice(0).forEach(s => s.destroy());
        await serve?.stop();
        serve = undefined;
    });
    const start = async (extra: string[], prefix: string[] = []) => {
        serve = await startServe(['--lmtp', `127.0.0.1:${await freePort()}`, ...(await sideListeners()), ...extra], {}, prefix);
        return serve;
    };
    const own = os.getPriority();

    it('auto: unchanged for the Lua script; nice 10 on every thread once the native driver says hello, and logged', async () => {
        const admin = `127.0.0.1:${await freePort()}`;
        const s = await start(['--admin', admin]);
        expect(niceOf(s)).toEqual(new Set([own]));
        // the Lua script's hello names its session's user: the priority stays
        socks.push(await hookHello(s, helloLine(TOKEN, 'lua-proc', 'u@example.org')));
        await heard(admin);
        // the native driver's: no user (one connection shared by a Dovecot process's users)
        const before = threadStats(s.child.pid!).length;
        expect(niceOf(s)).toEqual(new Set([own]));
        socks.push(await hookHello(s, signedLine(TOKEN, { vmbridge: 2, proc: 'native-proc', ts: nowTs() })));
        await waitFor(() => s.output().includes('"why":"native driver","msg":"CPU priority"'), 10_000, 'the priority log line');
        // the main thread, V8's platform threads, libuv's pool and the state checkpoint worker
        expect(before).toBeGreaterThan(4);
        expect(niceOf(s)).toEqual(new Set([Math.max(own, 10)]));
        expect(s.output()).toMatch(/"nice":10,"why":"native driver"/);
    });

    it('a hello that fails the MAC changes nothing', async () => {
        const s = await start([]);
        socks.push(await hookHello(s, signedLine('another-token-0123456789abcdef', { vmbridge: 2, proc: 'x', ts: nowTs() })));
        await waitFor(() => socks[0].closed, 10_000, 'serve closed the connection');
        expect(niceOf(s)).toEqual(new Set([own]));
    });

    it('a number applies at start to every thread, worker threads included; 0 keeps it even for the native driver', async () => {
        // small values: a serve started far below stress-ng's nice-0 workers (the suite's load test) starts slowly
        const s = await start(['--nice', '3']);
        expect(niceOf(s)).toEqual(new Set([Math.max(own, 3)]));
        expect(s.output()).toMatch(/"nice":3,"why":"--nice"/);
        await s.stop();
        const admin = `127.0.0.1:${await freePort()}`;
        const z = await start(['--nice', '0', '--admin', admin]);
        socks.push(await hookHello(z, signedLine(TOKEN, { vmbridge: 2, proc: 'native-proc', ts: nowTs() })));
        await heard(admin);
        expect(niceOf(z)).toEqual(new Set([own]));
    });

    it('a process started lower is not raised', async () => {
        const t = await start(['--nice', '2'], ['nice', '-n', '4']);
        expect(niceOf(t)).toEqual(new Set([Math.min(19, own + 4)]));
    });

    it('refuses a value outside 0–19 or auto (64, naming the option)', async () => {
        await expect(start(['--nice', '20'])).rejects.toThrow(/exited 64[\s\S]*invalid option --nice/);
        await expect(start(['--nice', 'low'])).rejects.toThrow(/exited 64[\s\S]*invalid option --nice/);
    });
});
