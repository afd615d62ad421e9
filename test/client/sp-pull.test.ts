// subscribe()'s own PULL (src/client/sp-pull.ts) against real nanomsg PUSH sockets and raw peers,
// over tcp and ipc: frames of every size up to the limit arrive whole and in order from several
// peers, a peer sending an oversize frame or junk is disconnected, a bound address is refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nano from 'nanomsg';
import { afterEach, describe, expect, it } from 'vitest';
import { SpPull } from '../../src/client/sp-pull.js';
import { SP_PULL_MAX_FRAME } from '../../src/limits.js';
import { spAddress, type SpAddress } from '../../src/wire/sp.js';
import { freePort, waitFor } from '../helpers/net.js';

const cleanup: (() => unknown)[] = [];
afterEach(() => {
    while (cleanup.length) cleanup.pop()!();
});

async function url(kind: 'tcp' | 'ipc'): Promise<string> {
    if (kind === 'tcp') return `tcp://127.0.0.1:${await freePort()}`;
    const d = mkdtempSync(path.join(tmpdir(), 'vmb-pull-'));
    cleanup.push(() => rmSync(d, { recursive: true, force: true }));
    return `ipc://${d}/pull.sock`;
}

async function pull(u: string): Promise<{ pull: SpPull; got: Buffer[] }> {
    const p = new SpPull(spAddress(u)!);
    cleanup.push(() => p.close());
    const got: Buffer[] = [];
    p.start(f => got.push(Buffer.from(f)));
    await p.listen();
    return { pull: p, got };
}

function push(u: string) {
    const sock = nano.socket('push');
    cleanup.push(() => sock.close());
    sock.connect(u);
    return sock;
}

describe("subscribe()'s PULL", () => {
    for (const kind of ['tcp', 'ipc'] as const) {
        it(`${kind}: frames from two nanomsg PUSH peers, 0 bytes to 1 MB, each whole and in its peer's order`, async () => {
            const u = await url(kind);
            const { got } = await pull(u);
            const [a, b] = [push(u), push(u)];
            const sizes = [0, 1, 7, 8, 9, 2047, 2048, 70_000, SP_PULL_MAX_FRAME];
            const frames = (tag: string) => sizes.map((n, i) => Buffer.concat([Buffer.from(`${tag}${i}:`), Buffer.alloc(Math.max(0, n - 4), i)]).subarray(0, Math.max(n, 4)));
            for (const f of frames('a')) a.send(f);
            for (const f of frames('b')) b.send(f);
            await waitFor(() => got.length === 2 * sizes.length, 10_000, 'every frame');
            for (const tag of ['a', 'b']) {
                const mine = got.filter(f => f.subarray(0, 1).toString() === tag);
                const want = frames(tag);
                // Buffer.equals: a deep toEqual over 1 MB buffers takes seconds
                expect(mine.map((f, i) => f.equals(want[i]))).toEqual(want.map(() => true));
            }
        });
    }

    it('disconnects a peer sending a frame over the limit, and one that is not an SP PUSH', async () => {
        const u = await url('tcp');
        await pull(u);
        const addr = spAddress(u) as { host: string; port: number };
        for (const hello of [Buffer.from([0, 0x53, 0x50, 0, 0, 0x50, 0, 0]), Buffer.from('GET / HTTP/1.1\r\n\r\n')]) {
            const peer = createConnection(addr);
            cleanup.push(() => peer.destroy());
            peer.on('error', () => {});
            peer.resume();
            const closed = new Promise(r => peer.on('close', r));
            const big = Buffer.alloc(8);
            big.writeUInt32BE(SP_PULL_MAX_FRAME + 1, 4);
            peer.write(Buffer.concat([hello, big]));
            await closed;
        }
    });

    it('refuses an address that is bound', async () => {
        const u = await url('ipc');
        await pull(u);
        await expect(new SpPull(spAddress(u) as SpAddress).listen()).rejects.toThrow(/listening/);
    });
});
