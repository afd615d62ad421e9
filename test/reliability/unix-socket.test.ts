// The LMTP listener on a unix socket (`--lmtp unix:/path`): delivers, is trusted by file
// permissions (no access list, no per-address cap), takes over a socket file a crashed run left,
// and refuses to start over a file that is not a socket.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { loadConfig } from '../../src/config.js';
import { IntakeServer } from '../../src/intake/server.js';
import { dataPayload } from '../helpers/lmtp-client.js';
import { MemoryDeliverer, nullObserver } from './fake-deliverer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vmb-unix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let server: IntakeServer | undefined;
afterEach(async () => {
    await server?.close();
    server = undefined;
});

function intake(file: string, flags: Record<string, unknown> = {}): { server: IntakeServer; deliverer: MemoryDeliverer } {
    const deliverer = new MemoryDeliverer();
    const config = loadConfig({ lmtp: `unix:${file}`, ...flags }, {});
    server = new IntakeServer({ listen: { path: file }, lmtp: true, deliverer, observer: nullObserver, config, logger: createLogger('silent') });
    return { server, deliverer };
}

/** One LMTP transaction over the socket; resolves with every reply line. */
function lmtp(file: string, rcpts: string[]): Promise<string[]> {
    return new Promise((resolve, reject) => {
        const s = net.connect(file);
        let buf = '';
        const msg = Buffer.from('Subject: unix\r\n\r\nhi\r\n');
        s.on('data', d => {
            buf += d.toString();
            const lines = buf.split('\r\n').filter(l => /^\d{3} /.test(l));
            if (lines.length === 1) s.write(`LHLO mta\r\nMAIL FROM:<a@example.org>\r\n${rcpts.map(r => `RCPT TO:<${r}>\r\n`).join('')}DATA\r\n`);
            if (lines.length === 4 + rcpts.length) s.write(dataPayload(msg));
            if (lines.length === 4 + 2 * rcpts.length) {
                s.end('QUIT\r\n');
                resolve(lines);
            }
        });
        s.on('error', reject);
    });
}

describe('--lmtp unix:/path', () => {
    it('delivers over the socket (mode 0660), with no per-address cap', async () => {
        const file = path.join(dir, 'a', 'lmtp');
        const { server: s, deliverer } = intake(file, { maxConnectionsPerIp: 1 });
        expect(await s.listen()).toBe(file);
        expect(statSync(file).mode & 0o777).toBe(0o660);
        const idle = net.connect(file); // would use up a per-address cap of 1
        await new Promise(r => idle.once('data', r));
        const lines = await lmtp(file, ['alice@example.org', 'bob@example.org']);
        idle.destroy();
        expect(lines.slice(-2).map(l => l.slice(0, 3))).toEqual(['250', '250']);
        expect(deliverer.stored.map(s => s.rcpt.user)).toEqual(['alice@example.org', 'bob@example.org']);
    });

    it('takes over a stale socket file left by a crash', async () => {
        const file = path.join(dir, 'stale');
        // bound, never listening: what a killed process leaves behind
        execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(file)})`]);
        expect(statSync(file).isSocket()).toBe(true);
        await intake(file).server.listen();
        expect((await lmtp(file, ['alice@example.org'])).at(-1)).toMatch(/^250 /);
    });

    it('refuses to replace a file that is not a socket', async () => {
        const file = path.join(dir, 'plain');
        writeFileSync(file, 'keep me');
        await expect(intake(file).server.listen()).rejects.toThrow(/not a socket/);
        server = undefined;
    });
});
