// No cliff under overload (issue 22): a flood far beyond what a subscriber takes drops the oldest
// events behind a visible `reset`, and the subscriber keeps receiving the later ones. Real bridge,
// real memcached (resolver and journal), real nanomsg; barriers, no timing.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribe } from '../../src/client/subscribe.js';
import type { VmEvent } from '../../src/events/event.js';
import { pushDrops } from '../../src/metrics.js';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { freePort, waitFor } from '../helpers/net.js';
import { stoppedAll } from '../helpers/process.js';
import { flag, take } from '../catchup/util.js';

const dropped = async () => (await pushDrops.get()).values.reduce((a, v) => a + v.value, 0);

/** Emits n flag events for user in one go (far beyond any subscriber's pace), then the barrier. */
function flood(br: TestBridge, user: string, n: number, barrier: string): void {
    for (let i = 1; i <= n; i++) br.bridge.events.emit(flag(user, `flood-${user}-${i}`, i));
    br.bridge.events.emit(flag(user, barrier, n + 1));
}

/** A reset must precede every seq jump: what is dropped is never a silent gap. */
function assertNoSilentGap(events: VmEvent[]): void {
    let last: number | undefined;
    let resetPending = false;
    for (const ev of events) {
        if (ev.type === 'reset') {
            resetPending = true;
            continue;
        }
        if (last !== undefined && ev.seq !== last + 1) expect(resetPending, `seq ${last} → ${ev.seq} without a reset`).toBe(true);
        last = ev.seq;
        resetPending = false;
    }
}

describe('overload: subscribers keep receiving and see a reset for what was dropped', () => {
    let mc: TestMemcached;
    let br: TestBridge;
    const children: ChildProcess[] = [];
    beforeAll(async () => {
        mc = await startMemcached();
        br = await startBridge({ resolver: mc.resolver });
    });
    afterAll(async () => {
        for (const c of children) {
            if (c.exitCode === null && c.signalCode === null) {
                c.kill('SIGCONT');
                c.kill('SIGKILL');
            }
        }
        await br?.stop();
        await mc?.stop();
    });

    it('subscribe() whose consumer stalls: the oldest go behind a client-overflow reset, later events still arrive', async () => {
        const stream = subscribe({ resolver: mc.resolver, user: 'flood1', bind: `tcp://127.0.0.1:${await freePort()}`, limit: 100 });
        try {
            await stream.ready;
            flood(br, 'flood1', 5000, 'barrier-1');
            // Nobody iterates meanwhile: the stream's bounded queue must overflow.
            await waitFor(() => stream.dropped > 0, 30_000, 'stream overflow');
            const [first] = await take(stream, 1);
            expect(first).toMatchObject({ type: 'reset', reason: 'client-overflow', user: 'flood1' });
            const rest: VmEvent[] = [];
            while (rest.at(-1)?.id !== 'barrier-1') rest.push(...(await take(stream, 1, 30_000)));
            expect(rest.filter(e => e.type === 'flag').length).toBeGreaterThan(1);
            assertNoSilentGap([first, ...rest]);
        } finally {
            await stream.close();
        }
    });

    it('a subscriber process that stops reading: the push queue drops the oldest, and after it resumes it gets a reset or the filled gap, then the later events', async () => {
        const bind = `tcp://127.0.0.1:${await freePort()}`;
        const child = spawn(process.execPath, ['bin/vmbridge.js', 'subscribe', '--resolver', mc.resolver, '--user', 'flood2', '--bind', bind, '--ttl', '30'], {
            stdio: ['ignore', 'pipe', 'pipe']
        });
        children.push(child);
        const lines: VmEvent[] = [];
        createInterface({ input: child.stdout! }).on('line', l => lines.push(JSON.parse(l) as VmEvent));
        // Registered and anchored: a probe event arrives.
        await waitFor(
            () => {
                br.bridge.events.emit(flag('flood2', `probe-${Date.now()}`, 0));
                return lines.length > 0;
            },
            20_000,
            'subscriber ready'
        );
        const before = await dropped();
        process.kill(child.pid!, 'SIGSTOP');
        try {
            await stoppedAll([child.pid!]);
            flood(br, 'flood2', 60_000, 'barrier-2');
            // The bridge could not hand the flood over: its per-endpoint queue dropped the oldest.
            await waitFor(async () => (await dropped()) > before, 60_000, 'push queue drops');
        } finally {
            process.kill(child.pid!, 'SIGCONT');
        }
        // The flood ends either in the barrier (the gap filled from the journal) or in a reset
        // covering it; either way the subscriber must go on receiving: one more event proves it.
        await waitFor(() => lines.some(e => e.id === 'barrier-2' || (e.type === 'reset' && e.seq !== undefined && e.seq > 60_000)), 60_000, 'the end of the flood');
        await waitFor(
            () => {
                br.bridge.events.emit(flag('flood2', `after-${Date.now()}`, 0));
                return lines.some(e => e.id.startsWith('after-'));
            },
            60_000,
            'an event after the flood'
        );
        let start = lines.length;
        while (start > 0 && !lines[start - 1].id.startsWith('probe-')) start--;
        const after = lines.slice(start);
        expect(after.filter(e => e.id.startsWith('flood-')).length).toBeGreaterThan(1);
        assertNoSilentGap(after);
        child.kill('SIGTERM');
        await new Promise(r => child.once('exit', r));
    });
});
