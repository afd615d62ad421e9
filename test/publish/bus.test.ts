// The bus's own SP PUB (src/publish/sp-pub.ts) against real nanomsg SUB sockets, over ipc:// and
// tcp://: a turn's frames leave as one write yet arrive as one event per frame, in order, filtered
// by prefix inside nanomsg; a subscriber past the high-water mark loses frames (counted) while the
// others keep everything; junk peers are closed; a stale ipc file is replaced, a live one refused.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection, type Socket as NetSocket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nano, { type Socket } from 'nanomsg';
import { afterEach, describe, expect, it } from 'vitest';
import { onFrames } from '../../src/client/receive.js';
import type { VmEvent } from '../../src/events/event.js';
import { Bus } from '../../src/publish/bus.js';
import { SpPub } from '../../src/publish/sp-pub.js';
import { spAddress } from '../../src/wire/sp.js';
import { decodeFrame, framePrefixes } from '../../src/wire/frame.js';
import { anEvent } from '../helpers/events.js';
import { freePort, waitFor } from '../helpers/net.js';
import { createLogger } from '../../src/log.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
    while (cleanup.length) await cleanup.pop()!();
});

function dir(): string {
    const d = mkdtempSync(path.join(tmpdir(), 'vmb-bus-'));
    cleanup.push(() => rmSync(d, { recursive: true, force: true }));
    return d;
}

async function startBus(url: string): Promise<Bus> {
    const bus = new Bus(url, createLogger('silent'));
    await bus.start();
    cleanup.push(() => bus.stop());
    return bus;
}

function sub(url: string, user?: string): { sock: Socket; got: VmEvent[] } {
    const sock = nano.socket('sub', { chan: framePrefixes(user) });
    cleanup.push(() => sock.close());
    expect(sock.connect(url)).not.toBeNull();
    const got: VmEvent[] = [];
    onFrames(sock, f => {
        const ev = decodeFrame(f);
        if (ev) got.push(ev);
    });
    return { sock, got };
}

const ev = (id: string, user: string, seq: number): VmEvent => anEvent('flag', { id, user, seq });

/** SUB sockets connect asynchronously: probe until each has seen one. */
async function joined(bus: Bus, subs: { got: VmEvent[] }[], user: string): Promise<void> {
    let n = 0;
    await waitFor(
        () => {
            if (subs.some(s => !s.got.some(e => e.id.startsWith('probe')))) bus.emit(ev(`probe${n++}`, user, 0));
            return subs.every(s => s.got.some(e => e.id.startsWith('probe')));
        },
        5000,
        'subscribers to join'
    );
    for (const s of subs) s.got.length = 0;
}

describe('the bus (SP PUB)', () => {
    for (const kind of ['ipc', 'tcp'] as const) {
        it(`${kind}: a turn's 5,000 frames reach every subscriber in order, one event per frame, filtered by user`, async () => {
            const url = kind === 'ipc' ? `ipc://${dir()}/bus.sock` : `tcp://127.0.0.1:${await freePort()}`;
            const bus = await startBus(url);
            if (kind === 'ipc') expect(statSync(url.slice(6)).mode & 0o777).toBe(0o660);
            const all = [sub(url), sub(url)];
            const alice = sub(url, 'alice');
            await joined(bus, [...all, alice], 'alice');
            // One turn: one write per subscriber carries all of them.
            for (let i = 1; i <= 5000; i++) bus.emit(ev(`e${i}`, i % 2 ? 'alice' : 'bob', i));
            await waitFor(() => all.every(s => s.got.length === 5000) && alice.got.length === 2500, 10_000, 'all frames');
            for (const s of all) expect(s.got.map(e => e.seq)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
            expect(alice.got.every(e => e.user === 'alice')).toBe(true);
            expect(alice.got.map(e => e.seq)).toEqual(Array.from({ length: 2500 }, (_, i) => 2 * i + 1));
        });
    }

    it('drops frames only for a subscriber that stopped reading, and counts them', async () => {
        const url = `tcp://127.0.0.1:${await freePort()}`;
        const drops: number[] = [];
        const pub = await SpPub.listen(spAddress(url)!, { highWater: 64 * 1024, highWaterTotal: 1 << 30, maxPeers: 64, handshakeMs: 1000, onDrop: n => drops.push(n) });
        cleanup.push(() => pub.close(100));
        // A raw SP peer that completes the handshake and then reads nothing.
        const stuck = createConnection(spAddress(url) as { host: string; port: number });
        cleanup.push(() => stuck.destroy());
        stuck.on('error', () => {}); // reset when the PUB closes it unread
        stuck.write(Buffer.from([0, 0x53, 0x50, 0, 0, 0x21, 0, 0]));
        stuck.pause();
        const live = sub(url);
        await waitFor(() => pub.subscribers === 2, 5000, 'both peers');
        const frame = (i: number) => `u\tflag\t${JSON.stringify(ev(`x${i}`, 'u', i))}`;
        let i = 0;
        // Turn after turn until the stuck peer's unsent bytes pass the mark.
        await waitFor(
            () => {
                for (let k = 0; k < 500; k++) pub.send(frame(++i));
                return drops.length > 0;
            },
            20_000,
            'a drop for the stuck peer'
        );
        await waitFor(() => live.got.length === i, 10_000, 'every frame at the reading subscriber');
        expect(live.got.map(e => e.seq)).toEqual(Array.from({ length: i }, (_, k) => k + 1));
    });

    it('takes at most maxPeers connections, and stalled peers share highWaterTotal', async () => {
        const url = `tcp://127.0.0.1:${await freePort()}`;
        const drops: number[] = [];
        // highWater alone would let each stalled peer hold 1 MB; the total gives two of them 64 KB each
        const pub = await SpPub.listen(spAddress(url)!, { highWater: 1024 * 1024, highWaterTotal: 128 * 1024, maxPeers: 2, handshakeMs: 1000, onDrop: n => drops.push(n) });
        cleanup.push(() => pub.close(100));
        const stalled = () => {
            const s = createConnection(spAddress(url) as { host: string; port: number });
            cleanup.push(() => s.destroy());
            s.on('error', () => {});
            s.write(Buffer.from([0, 0x53, 0x50, 0, 0, 0x21, 0, 0]));
            s.pause();
            return s;
        };
        stalled();
        stalled();
        await waitFor(() => pub.subscribers === 2, 5000, 'two peers');
        const third = stalled();
        third.resume(); // reads the FIN, so 'close' comes
        await new Promise(r => third.once('close', r)); // over maxPeers: closed on accept
        expect(pub.subscribers).toBe(2);
        let i = 0;
        let backlog = 0;
        await waitFor(
            () => {
                for (let k = 0; k < 100; k++) {
                    pub.send(`u\tflag\t${JSON.stringify(ev(`y${++i}`, 'u', i))}`);
                }
                backlog = pub.backlog;
                pub.flush();
                return drops.length > 0;
            },
            20_000,
            'a drop'
        );
        // the drop came at the peers' share (64 KB unsent, beyond what the kernel took), not at highWater
        expect(backlog).toBeGreaterThan(64 * 1024);
        expect(backlog).toBeLessThan(256 * 1024);
    });

    it('closes a peer that does not speak SP as a SUB, and keeps serving', async () => {
        const url = `tcp://127.0.0.1:${await freePort()}`;
        const bus = await startBus(url);
        const junk: NetSocket = createConnection(spAddress(url) as { host: string; port: number });
        cleanup.push(() => junk.destroy());
        const closed = new Promise(r => junk.on('close', r));
        junk.on('error', () => {});
        junk.resume(); // our header arrives first; 'close' only comes once it was read
        junk.write('GET / HTTP/1.1\r\n\r\n'); // 8+ bytes, not an SP header
        await closed;
        const s = sub(url);
        await joined(bus, [s], 'u');
        bus.emit(ev('after', 'u', 1));
        await waitFor(() => s.got.length === 1, 5000, 'event after the junk peer');
    });

    it('replaces a stale ipc socket file, refuses one that is in use', async () => {
        const d = dir();
        const file = path.join(d, 'bus.sock');
        // A socket file nobody listens on, as a crashed bridge leaves it (SIGKILL: no unlink).
        spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(file)}, () => process.kill(process.pid, 'SIGKILL'))`]);
        expect(statSync(file).isSocket()).toBe(true);
        const bus = await startBus(`ipc://${file}`);
        const s = sub(`ipc://${file}`);
        await joined(bus, [s], 'u');
        const second = new Bus(`ipc://${file}`, createLogger('silent'));
        await expect(second.start()).rejects.toThrow(/cannot bind the bus/);
    });

    it('stop() lets the last frames reach the subscribers', async () => {
        const url = `ipc://${dir()}/bus.sock`;
        const bus = new Bus(url, createLogger('silent'));
        await bus.start();
        const s = sub(url);
        await joined(bus, [s], 'u');
        for (let i = 1; i <= 1000; i++) bus.emit(ev(`l${i}`, 'u', i));
        await bus.stop();
        await waitFor(() => s.got.length === 1000, 5000, 'the last frames');
    });
});
