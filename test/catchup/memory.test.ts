// The embedded default (memory resolver, memory journal): `vmbridge listen --user --since`
// replays through the bridge's replay endpoint and then follows the bus, in seq order.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent } from '../../src/wire/json.js';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { freePort, waitFor } from '../helpers/net.js';
import { flag } from './util.js';

describe('catch-up with the memory journal', () => {
    let br: TestBridge;
    let replay: string;
    beforeAll(async () => {
        const port = await freePort();
        replay = `http://127.0.0.1:${port}`;
        br = await startBridge({ resolver: 'memory', replay: `127.0.0.1:${port}`, journalMax: 50 });
    });
    afterAll(async () => {
        await br?.stop();
    });

    it('serves replays over HTTP, with a reset past the count bound and a 400 for a bad query', async () => {
        for (let i = 1; i <= 60; i++) br.bridge.events.emit(flag('ivy', `i${i}`, i));
        await waitFor(async () => (await br.bridge.events.replay('ivy', 59))[0]?.id === 'i60', 5000, 'journaled');
        const text = await (await fetch(`${replay}/replay?user=ivy&since=55`)).text();
        expect(text.trim().split('\n').map(l => decodeEvent(l)?.seq)).toEqual([56, 57, 58, 59, 60]);
        const old = await (await fetch(`${replay}/replay?user=ivy&since=3`)).text();
        expect(decodeEvent(old.trim())).toMatchObject({ type: 'reset', reason: 'cursor-too-old', seq: 60 });
        expect((await fetch(`${replay}/replay?user=ivy&since=-1`)).status).toBe(400);
    });

    it('vmbridge listen --user --since prints the missed events, then live ones, each once and in order', async () => {
        for (let i = 1; i <= 5; i++) br.bridge.events.emit(flag('hank', `h${i}`, i));
        await waitFor(async () => (await br.bridge.events.replay('hank', 4))[0]?.id === 'h5', 5000, 'journaled');
        const child = spawn(process.execPath, ['bin/vmbridge.js', 'listen', '--connect', br.config.publish, '--user', 'hank', '--since', '2', '--replay', replay], {
            stdio: ['ignore', 'pipe', 'pipe']
        });
        let out = '';
        let err = '';
        child.stdout.on('data', d => (out += d));
        child.stderr.on('data', d => (err += d));
        const exited = new Promise<number | null>(res => child.once('exit', code => res(code)));
        const lines = () => out.split('\n').filter(Boolean).map(l => decodeEvent(l)!);
        try {
            await waitFor(() => lines().length >= 3, 10_000, `replayed lines (stderr: ${err})`);
            // Live: the SUB may still be joining; a frame it misses is filled from the journal on the next one.
            let n = 6;
            await waitFor(() => {
                br.bridge.events.emit(flag('hank', `h${n}`, n));
                n++;
                return lines().length >= 6;
            }, 15_000, 'live lines');
            const got = lines();
            expect(got.map(e => e.seq)).toEqual(got.map((_, i) => 3 + i));
            expect(got.map(e => e.id)).toEqual(got.map((_, i) => `h${3 + i}`));
        } finally {
            child.kill('SIGTERM');
        }
        expect(await exited).toBe(0);
    });
});
