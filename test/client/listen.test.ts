// listen(): the library against a PUB socket the test binds, and the `vmbridge listen` CLI once.
import { spawn } from 'node:child_process';
import nano, { type Socket } from 'nanomsg';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../../src/client/listen.js';
import type { EventType, VmEvent } from '../../src/events/event.js';
import { encodeFrame } from '../../src/wire/frame.js';
import { anEvent } from '../helpers/events.js';
import { freePort, waitFor } from '../helpers/net.js';

const pubs: Socket[] = [];
afterEach(() => {
    while (pubs.length) pubs.pop()!.close();
});

async function bus(): Promise<{ url: string; pub: Socket }> {
    const url = `tcp://127.0.0.1:${await freePort()}`;
    const pub = nano.socket('pub');
    pubs.push(pub);
    expect(pub.bind(url)).not.toBeNull();
    return { url, pub };
}

const ev = (id: string, user: string, type: EventType): VmEvent => anEvent(type, { id, user });

/** PUB/SUB connects asynchronously: repeat a matching probe until the subscriber sees one. */
async function untilJoined(pub: Socket, probe: VmEvent, seen: () => boolean): Promise<void> {
    await waitFor(
        () => {
            if (!seen()) pub.send(encodeFrame(probe));
            return seen();
        },
        5000,
        'subscriber to join'
    );
}

describe('listen()', () => {
    it('receives only the user and types asked for, drops junk, ends on abort', async () => {
        const { url, pub } = await bus();
        const ac = new AbortController();
        const got: VmEvent[] = [];
        const stream = listen({ connect: url, user: 'alice', types: ['flag', 'mwi'], signal: ac.signal });
        const done = (async () => {
            for await (const e of stream) got.push(e);
        })();
        await untilJoined(pub, ev('probe', 'alice', 'mwi'), () => got.length > 0);
        got.length = 0;
        pub.send(encodeFrame(ev('1', 'alice', 'newmail')));
        pub.send(encodeFrame(ev('2', 'bob', 'flag')));
        pub.send(encodeFrame(ev('3', 'alice2', 'flag')));
        pub.send(Buffer.from('alice\tflag\t{not json'));
        pub.send(Buffer.from('alice\tflag\t{"v":2}'));
        pub.send(encodeFrame(ev('4', 'alice', 'flag')));
        pub.send(encodeFrame(ev('5', 'alice', 'mwi')));
        await waitFor(() => got.length >= 2, 3000, 'alice flag and mwi');
        ac.abort();
        await done;
        expect(got.map(e => e.id)).toEqual(['4', '5']);
    });

    it('filters types in JavaScript when no user is given', async () => {
        const { url, pub } = await bus();
        const got: VmEvent[] = [];
        const stream = listen({ connect: url, types: ['mwi'] });
        const done = (async () => {
            for await (const e of stream) {
                got.push(e);
                if (e.id === 'last') break;
            }
        })();
        await untilJoined(pub, ev('probe', 'x', 'mwi'), () => got.length > 0);
        pub.send(encodeFrame(ev('a', 'bob', 'newmail')));
        pub.send(encodeFrame(ev('b', 'carol', 'mwi')));
        pub.send(encodeFrame(ev('last', 'dave', 'mwi')));
        await done;
        expect(got.filter(e => e.id !== 'probe').map(e => e.id)).toEqual(['b', 'last']);
    });

    it('throws at once for an unusable address', () => {
        expect(() => listen({ connect: 'nonsense://x' })).toThrow(/cannot connect/);
    });
});

describe('vmbridge listen (CLI)', () => {
    const cli = ['bin/vmbridge.js', 'listen'];

    it('prints only the JSON of matching events, one per line, and stops on SIGTERM', async () => {
        const { url, pub } = await bus();
        const child = spawn(process.execPath, [...cli, '--connect', url, '--user', 'alice', '--type', 'newmail,mwi'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', d => (out += d));
        child.stderr.on('data', d => (err += d));
        const exited = new Promise<number | null>(res => child.once('exit', code => res(code)));
        try {
            await untilJoined(pub, ev('probe', 'alice', 'mwi'), () => out.includes('\n'));
            pub.send(encodeFrame(ev('n', 'bob', 'newmail')));
            pub.send(encodeFrame(ev('f', 'alice', 'flag')));
            pub.send(encodeFrame(ev('m', 'alice', 'newmail')));
            await waitFor(() => out.includes('"id":"m"'), 3000, `newmail line (stderr: ${err})`);
        } finally {
            child.kill('SIGTERM');
        }
        expect(await exited).toBe(0);
        const lines = out
            .trim()
            .split('\n')
            .map(l => JSON.parse(l) as VmEvent);
        expect(lines.every(l => l.user === 'alice' && (l.type === 'newmail' || l.type === 'mwi'))).toBe(true);
        expect(lines.map(l => l.id)).toContain('m');
    });

    it('exits 64 for an unknown type and 69 when it cannot start', async () => {
        const run = (args: string[]) => new Promise<number | null>(res => spawn(process.execPath, [...cli, ...args], { stdio: 'ignore' }).once('exit', code => res(code)));
        expect(await run(['--type', 'bogus'])).toBe(64);
        expect(await run(['--connect', 'nonsense://x'])).toBe(69);
    });
});
