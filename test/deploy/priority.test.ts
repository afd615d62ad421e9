// serve's --nice (src/commands/priority.ts): every thread of the process, those V8 and libuv
// started before the option was read and the worker threads the bridge starts after, runs at the
// configured priority; 0 leaves the one it was started with, and a lower priority it was started
// with (a unit's Nice=15) is never raised.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { sideListeners, startServe, type Serve } from './cli.js';

/** The nice value of each thread of pid (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNice(pid: number): number[] {
    return readdirSync(`/proc/${pid}/task`).map(tid => {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    });
}

describe('serve --nice', () => {
    let serve: Serve | undefined;
    afterEach(async () => {
        await serve?.stop();
        serve = undefined;
    });
    const start = async (extra: string[], prefix: string[] = []) => {
        serve = await startServe(['--lmtp', `127.0.0.1:${await freePort()}`, ...(await sideListeners()), ...extra], {}, prefix);
        return serve;
    };
    const own = os.getPriority();

    it('runs every thread at nice 10 by default, worker threads included, and logs it', async () => {
        const s = await start([]);
        const nice = threadNice(s.child.pid!);
        // the main thread, V8's platform threads, libuv's pool and the state checkpoint worker
        expect(nice.length).toBeGreaterThan(4);
        expect(new Set(nice)).toEqual(new Set([Math.max(own, 10)]));
        expect(s.output()).toMatch(/"nice":10,"msg":"CPU priority"/);
    });

    it('--nice 0 keeps the priority it was started with', async () => {
        const s = await start(['--nice', '0']);
        expect(new Set(threadNice(s.child.pid!))).toEqual(new Set([own]));
    });

    it('--nice 19 lowers it further; a process started lower is not raised to the default', async () => {
        const s = await start(['--nice', '19']);
        expect(new Set(threadNice(s.child.pid!))).toEqual(new Set([19]));
        await s.stop();
        const t = await start([], ['nice', '-n', '15']);
        expect(new Set(threadNice(t.child.pid!))).toEqual(new Set([Math.min(19, own + 15)]));
    });

    it('refuses a value outside 0–19 (64, naming the option)', async () => {
        await expect(start(['--nice', '20'])).rejects.toThrow(/exited 64[\s\S]*invalid option --nice/);
    });
});
