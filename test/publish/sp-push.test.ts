// The push endpoint's own SP PUSH socket (src/publish/sp-push.ts) against real nanomsg PULL
// sockets: a turn's frames leave as one write and arrive as separate messages in order, over tcp
// and ipc; a peer that is not (yet) there is redialled and then gets the queued frames; a peer that
// does not speak SP as a PULL gets no frame.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nano, { type Socket } from 'nanomsg';
import { afterEach, describe, expect, it } from 'vitest';
import { onFrames } from '../../src/client/receive.js';
import { PushEndpoint } from '../../src/publish/endpoint.js';
import { freePort, waitFor } from '../helpers/net.js';

const cleanup: (() => unknown)[] = [];
afterEach(() => {
    while (cleanup.length) cleanup.pop()!();
});

const opts = { queueLimit: 10_000, sendTimeoutMs: 10_000, idleMs: 60_000, backoffMinMs: 1000, backoffMaxMs: 1000 };

function endpoint(url: string): PushEndpoint {
    const ep = new PushEndpoint(url, opts, () => {});
    cleanup.push(() => ep.close());
    return ep;
}

function pull(url: string, kind: 'pull' | 'pub' = 'pull'): { sock: Socket; got: string[] } {
    const sock = nano.socket(kind);
    cleanup.push(() => sock.close());
    expect(sock.bind(url)).not.toBeNull();
    const got: string[] = [];
    if (kind === 'pull') onFrames(sock, f => got.push(f.toString()));
    return { sock, got };
}

async function url(kind: 'tcp' | 'ipc'): Promise<string> {
    if (kind === 'tcp') return `tcp://127.0.0.1:${await freePort()}`;
    const d = mkdtempSync(path.join(tmpdir(), 'vmb-push-'));
    cleanup.push(() => rmSync(d, { recursive: true, force: true }));
    return `ipc://${d}/pull.sock`;
}

describe('push endpoint over its SP socket', () => {
    for (const kind of ['tcp', 'ipc'] as const) {
        it(`${kind}: one turn's 2,000 frames arrive as 2,000 messages in order`, async () => {
            const u = await url(kind);
            const p = pull(u);
            const ep = endpoint(u);
            ep.send(Buffer.from('hello'));
            await waitFor(() => p.got.length === 1, 5000, 'first frame');
            const frames = Array.from({ length: 2000 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i % 300)}"}`);
            for (const f of frames) ep.send(Buffer.from(f));
            await waitFor(() => p.got.length === 2001, 10_000, 'every frame');
            expect(p.got.slice(1)).toEqual(frames);
        });
    }

    it('queues while nobody listens, redials, and delivers the queue once the PULL is bound', async () => {
        const u = await url('tcp');
        const ep = endpoint(u);
        for (let i = 0; i < 5; i++) ep.send(Buffer.from(`q${i}`));
        await new Promise(r => setImmediate(r)); // the turn's send found no peer
        const p = pull(u);
        await waitFor(() => p.got.length === 5, 10_000, 'queued frames after the redial');
        expect(p.got).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
    });

    it('refuses a peer that is not a PULL: it gets our header, no frame, and the connection closed', async () => {
        const received: Buffer[] = [];
        let closes = 0;
        const server = createServer(sock => {
            sock.write(Buffer.from([0, 0x53, 0x50, 0, 0, 0x20, 0, 0])); // SP, but PUB
            sock.on('data', d => received.push(d));
            sock.on('close', () => closes++);
        });
        await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
        cleanup.push(() => server.close());
        const ep = endpoint(`tcp://127.0.0.1:${(server.address() as AddressInfo).port}`);
        ep.send(Buffer.from('never'));
        await waitFor(() => closes >= 1, 10_000, 'the refused connection closed');
        // Only PUSH headers (it redials and is refused again), never the frame.
        const all = Buffer.concat(received);
        expect(all.length % 8).toBe(0);
        for (let i = 0; i < all.length; i += 8) expect(all.subarray(i, i + 8)).toEqual(Buffer.from([0, 0x53, 0x50, 0, 0, 0x50, 0, 0]));
    });
});
