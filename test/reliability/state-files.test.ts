// What the state directory exposes: the bus is a unix socket there (0660, the vmbridge group),
// the store and tokens are not world-readable, `listen` finds the bus from --state-dir alone,
// the replay endpoint is off unless asked for, and a second serve cannot share the directory.
import { spawn } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/events/event.js';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { waitFor } from '../helpers/net.js';

const mode = (p: string) => statSync(p).mode & 0o777;

describe('the state directory', () => {
    let br: TestBridge;
    let dir: string;
    beforeAll(async () => {
        dir = path.join(tmpdir(), `vmb-state-files-${process.pid}-${Date.now()}`); // created by serve
        br = await startBridge({ stateDir: dir, publish: undefined, replay: undefined });
    });
    afterAll(async () => {
        await br?.stop();
        rmSync(dir, { recursive: true, force: true });
    });

    it('holds a private bus socket and store', () => {
        expect(mode(dir)).toBe(0o750);
        expect(statSync(path.join(dir, 'bus.sock')).isSocket()).toBe(true);
        expect(mode(path.join(dir, 'bus.sock'))).toBe(0o660);
        for (const f of ['state.db', 'index.db']) expect(mode(path.join(dir, f))).toBe(0o600);
    });

    it('serves no replay endpoint unless --replay is given', () => {
        expect(br.config.replay).toBeUndefined();
    });

    it('vmbridge listen --state-dir connects to the default bus there', async () => {
        const child = spawn(process.execPath, ['bin/vmbridge.js', 'listen', '--state-dir', dir, '--user', 'ann'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', d => (out += d));
        const exited = new Promise<number | null>(res => child.once('exit', code => res(code)));
        try {
            await waitFor(
                () => {
                    br.bridge.events.emit(makeEvent({ id: `p${Date.now()}`, type: 'delete', user: 'ann', mailbox: 'INBOX', uid: 1 }));
                    return out.includes('"user":"ann"');
                },
                15_000,
                'an event through the default bus'
            );
        } finally {
            child.kill('SIGTERM');
        }
        expect(await exited).toBe(0);
    });

    it('refuses a second bridge on the same directory while the first runs (another process)', async () => {
        const child = spawn(
            process.execPath,
            ['bin/vmbridge.js', 'serve', '--state-dir', dir, '--lmtp', '127.0.0.1:0', '--ingest', '127.0.0.1:0', '--ingest-token', 'x'.repeat(32)],
            { stdio: ['ignore', 'pipe', 'pipe'] }
        );
        let err = '';
        child.stderr.on('data', d => (err += d));
        const code = await new Promise<number | null>(res => child.once('exit', c => res(c)));
        expect(code).toBe(69);
        expect(err).toMatch(/in use by process/);
    });
});
