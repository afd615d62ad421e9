// The embedded default (memory resolver, journal in the state directory): `vmbridge listen --user
// --since` replays through the bridge's replay endpoint and then follows the bus, in seq order. The
// endpoint is authenticated and pages its answers. A fresh store numbers from its creation time,
// so seqs are read relative to the first one (`base`, the journal's position before any event).
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent } from '../../src/wire/json.js';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { freePort, REPLAY_TOKEN, waitFor } from '../helpers/net.js';
import { flag } from './util.js';
import { busUrl } from '../../src/publish/bus-address.js';

const auth = { authorization: `Bearer ${REPLAY_TOKEN}` };

describe('catch-up with the embedded journal', () => {
    let br: TestBridge;
    let replay: string;
    let base: number;
    beforeAll(async () => {
        const port = await freePort();
        replay = `http://127.0.0.1:${port}`;
        br = await startBridge({ resolver: 'memory', replay: `127.0.0.1:${port}`, journalMax: 50, replayMax: 4 });
        base = (await br.bridge.events.replay('nobody-yet', Number.MAX_SAFE_INTEGER))[0].seq!;
    });
    afterAll(async () => {
        await br?.stop();
    });

    it('serves replays over HTTP in pages, with a reset past the count bound and a 400 for a bad query', async () => {
        for (let i = 1; i <= 60; i++) br.bridge.events.emit(flag('ivy', `i${i}`, i));
        await waitFor(async () => (await br.bridge.events.replay('ivy', base + 59))[0]?.id === 'i60', 5000, 'journaled');
        const page = await fetch(`${replay}/replay?user=ivy&since=${base + 53}`, { headers: auth });
        expect(page.headers.get('x-vmbridge-more')).toBe('1'); // 7 to go, 4 per page
        expect(
            (await page.text())
                .trim()
                .split('\n')
                .map(l => decodeEvent(l)!.seq! - base)
        ).toEqual([54, 55, 56, 57]);
        const last = await fetch(`${replay}/replay?user=ivy&since=${base + 57}`, { headers: auth });
        expect(last.headers.get('x-vmbridge-more')).toBeNull();
        expect(
            (await last.text())
                .trim()
                .split('\n')
                .map(l => decodeEvent(l)!.seq! - base)
        ).toEqual([58, 59, 60]);
        const old = await (await fetch(`${replay}/replay?user=ivy&since=${base + 3}`, { headers: auth })).text();
        expect(decodeEvent(old.trim())).toMatchObject({ type: 'reset', reason: 'cursor-too-old', seq: base + 60 });
        expect((await fetch(`${replay}/replay?user=ivy&since=-1`, { headers: auth })).status).toBe(400);
    });

    it('refuses a replay without the token or with a wrong one', async () => {
        expect((await fetch(`${replay}/replay?user=ivy&since=0`)).status).toBe(401);
        expect((await fetch(`${replay}/replay?user=ivy&since=0`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    });

    it('vmbridge listen --user --since prints the missed events, then live ones, each once and in order', async () => {
        for (let i = 1; i <= 9; i++) br.bridge.events.emit(flag('hank', `h${i}`, i));
        await waitFor(async () => (await br.bridge.events.replay('hank', base + 8))[0]?.id === 'h9', 5000, 'journaled');
        // 7 missed events over pages of 4: the client pages through them.
        const child = spawn(process.execPath, ['bin/vmbridge.js', 'listen', '--connect', busUrl(br.config), '--user', 'hank', '--since', String(base + 2), '--replay', replay], {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, VMBRIDGE_REPLAY_TOKEN: REPLAY_TOKEN }
        });
        let out = '';
        let err = '';
        child.stdout.on('data', d => (out += d));
        child.stderr.on('data', d => (err += d));
        const exited = new Promise<number | null>(res => child.once('exit', code => res(code)));
        const lines = () =>
            out
                .split('\n')
                .filter(Boolean)
                .map(l => decodeEvent(l)!);
        try {
            await waitFor(() => lines().length >= 7, 10_000, `replayed lines (stderr: ${err})`);
            // Live: the SUB may still be joining; a frame it misses is filled from the journal on the next one.
            let n = 10;
            await waitFor(
                () => {
                    br.bridge.events.emit(flag('hank', `h${n}`, n));
                    n++;
                    return lines().length >= 10;
                },
                15_000,
                'live lines'
            );
            const got = lines();
            expect(got.map(e => e.seq! - base)).toEqual(got.map((_, i) => 3 + i));
            expect(got.map(e => e.id)).toEqual(got.map((_, i) => `h${3 + i}`));
        } finally {
            child.kill('SIGTERM');
        }
        expect(await exited).toBe(0);
    });
});
