// The ingest listener before a connection has proved the hook's key (issue 17 item 3): floods of
// unauthenticated connections sending megabytes without a newline, partial hellos and partial
// HTTP headers. Against a real `vmbridge serve` child: each such connection is closed (after
// 1 KB of hello, or after the few seconds it has to prove itself), the child's memory stays
// bounded, and LMTP deliveries are still answered meanwhile.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../helpers/lmtp-client.js';
import { freePort, waitFor } from '../helpers/net.js';
import { helloLine } from '../helpers/hook-sign.js';
import { ChildBridge } from './child-bridge.js';

const TOKEN = 'limits-test-token-0123456789abcdef';
const MSG = Buffer.from('From: a@example.net\r\nSubject: t\r\nMessage-ID: <lim@example.net>\r\n\r\nhi\r\n');

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

function connect(port: number): { sock: net.Socket; closed: Promise<void> } {
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => undefined);
    return { sock, closed: new Promise(r => sock.once('close', () => r())) };
}

/** Writes `total` bytes of `fill` (no newline) until the peer closes or all is written. */
async function pour(sock: net.Socket, first: string, total: number): Promise<void> {
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    if (!sock.write(first)) await new Promise(r => sock.once('drain', r));
    for (let sent = 0; sent < total && !sock.destroyed; sent += chunk.length) {
        if (!sock.write(chunk)) await Promise.race([new Promise(r => sock.once('drain', r)), new Promise(r => sock.once('close', r))]);
    }
}

describe('ingest limits before authentication', () => {
    let vmb: ChildBridge;
    let port = 0;
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-limits-'));

    beforeAll(async () => {
        port = await freePort();
        vmb = await new ChildBridge({ ingest: `127.0.0.1:${port}`, ingestToken: TOKEN, deliver: `maildir:${dir}` }).start();
    });
    afterAll(async () => {
        await vmb?.stop();
        rmSync(dir, { recursive: true, force: true });
    });
    const refusals = async () => {
        const text = await (await fetch(`http://127.0.0.1:${vmb.adminPort}/metrics`)).text();
        return Number(/vmbridge_ingest_batches_total\{result="conn_limit"\} (\d+)/.exec(text)?.[1] ?? 0);
    };

    it('200 connections pouring 8 MB without a newline: all closed, memory bounded, LMTP served', async () => {
        const rss0 = rssOf(vmb.pid!);
        const conns = Array.from({ length: 200 }, () => connect(port));
        const pours = conns.map(({ sock }, i) =>
            new Promise<void>(r => sock.once('connect', r)).then(() => pour(sock, i % 2 ? '{"mac":"' : 'POST /events HTTP/1.1\r\nX-Long: ', 8 * 1024 * 1024))
        );
        const delivered = await send(vmb.lmtpPort, 'a@example.net', ['alice@example.org'], MSG);
        expect(delivered.final.map(f => f.code)).toEqual([250]);
        await Promise.all(conns.map(c => c.closed));
        await Promise.all(pours);
        expect(rssOf(vmb.pid!) - rss0).toBeLessThan(150 * 1024 * 1024);
        expect(vmb.exitedSync()).toBe(false);
    });

    it('closes a partial hello and a partial HTTP header that go silent', async () => {
        const hello = connect(port);
        hello.sock.write('{"mac":"00');
        const header = connect(port);
        header.sock.write('POST /events HTTP/1.1\r\nHost: x\r\n');
        const idle = connect(port); // not even a first byte
        await waitFor(
            async () => {
                await Promise.all([hello.closed, header.closed, idle.closed]);
                return true;
            },
            20_000,
            'silent unauthenticated connections closed'
        );
        const r = await send(vmb.lmtpPort, 'a@example.net', ['alice@example.org'], MSG);
        expect(r.final.map(f => f.code)).toEqual([250]);
    });

    it('a signed hello keeps its connection open past that time; caps refuse the rest', async () => {
        const hook = connect(port);
        let hookClosed = false;
        void hook.closed.then(() => (hookClosed = true));
        hook.sock.write(helloLine(TOKEN, 'limits-proc', 'alice@example.org'));
        const before = await refusals();
        const crowd = Array.from({ length: 300 }, () => connect(port)); // unproved, all from one peer
        await Promise.all(crowd.map(c => c.closed)); // over the per-peer cap at once, the rest when their time is up
        expect((await refusals()) - before).toBeGreaterThanOrEqual(300 - 64);
        expect(hookClosed).toBe(false); // opened before the crowd, so its time was up before theirs
        hook.sock.destroy();
    });
});
