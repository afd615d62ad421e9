// Free loopback ports and readiness checks (no fixed ports, no fixed sleeps).
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

// Below the kernel's ephemeral range (32768-60999 here): a port from listen(0) is one the kernel
// also hands to outgoing connections, and the suite makes thousands of those, so between choosing
// the port and the child binding it an LMTP or IMAP client could take it (EADDRINUSE). Ports from
// this range only collide with another test's random pick, which the bind check below and the
// per-process memory make rare.
const PORT_MIN = 10_000;
const PORT_MAX = 32_767;
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
    for (;;) {
        const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN + 1));
        if (handedOut.has(port)) continue;
        if (await bindable(port)) {
            handedOut.add(port);
            return port;
        }
    }
}

function bindable(port: number): Promise<boolean> {
    return new Promise(resolve => {
        const srv = net.createServer();
        srv.once('error', () => resolve(false));
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
}

/** Resolves once a connect to host:port (or to a unix socket's path) succeeds and (optionally) the greeting matches. */
export async function waitForPort(port: number | string, opts: { host?: string; greeting?: RegExp; timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    let lastErr: unknown;
    while (Date.now() < deadline) {
        try {
            await probe(port, opts.host ?? '127.0.0.1', opts.greeting);
            return;
        } catch (err) {
            lastErr = err;
            await new Promise(r => setTimeout(r, 50));
        }
    }
    throw new Error(`port ${port} not ready: ${(lastErr as Error)?.message}`);
}

function probe(port: number | string, host: string, greeting?: RegExp): Promise<void> {
    return new Promise((resolve, reject) => {
        const sock = typeof port === 'string' ? net.connect(port) : net.connect(port, host);
        let buf = '';
        const done = (err?: Error) => {
            sock.destroy();
            err ? reject(err) : resolve();
        };
        sock.setTimeout(2000, () => done(new Error('timeout')));
        sock.once('error', done);
        sock.once('connect', () => {
            if (!greeting) done();
        });
        sock.on('data', d => {
            buf += d.toString();
            if (greeting && greeting.test(buf)) done();
        });
    });
}

/** A value that passed an `if (v)`: `cond && value` polls give the value's type. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Polls until fn returns a truthy value (for things with no port to probe). */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<Truthy<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await fn();
        if (v) return v as Truthy<T>;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise(r => setTimeout(r, 20));
    }
}

/** serve's listeners on free loopback ports: a suite runs many bridges at once, so no defaults. */
export const REPLAY_TOKEN = 'test-replay-token-0123456789';

let stateRoot: string | undefined;

/**
 * A fresh state directory per bridge: bridges of one suite never share a journal or bus socket.
 * A test file's all live under one directory, removed after the file by removeStateDirs() (test
 * setup, once its bridges are stopped) or, for benchmarks, when the process exits.
 */
export function freeStateDir(): string {
    if (!stateRoot) {
        stateRoot = mkdtempSync(path.join(tmpdir(), 'vmb-states-'));
        process.once('exit', removeStateDirs);
    }
    return mkdtempSync(path.join(stateRoot, 'state-'));
}

export function removeStateDirs(): void {
    if (stateRoot) rmSync(stateRoot, { recursive: true, force: true });
    stateRoot = undefined;
}

export async function freeListeners(
    lmtpPort?: number
): Promise<{ lmtp: string; publish: string; ingest: string; replay: string; ingestToken: string; replayToken: string; stateDir: string }> {
    return {
        stateDir: freeStateDir(),
        replayToken: REPLAY_TOKEN,
        lmtp: `127.0.0.1:${lmtpPort ?? (await freePort())}`,
        publish: `tcp://127.0.0.1:${await freePort()}`,
        ingest: `127.0.0.1:${await freePort()}`,
        replay: `127.0.0.1:${await freePort()}`,
        ingestToken: 'test-token-0123456789abcdef'
    };
}

/** Config keys (camelCase) as serve's command-line flags. */
export function toArgs(flags: Record<string, unknown>): string[] {
    return Object.entries(flags)
        .filter(([, v]) => v !== undefined)
        .flatMap(([k, v]) => [`--${k.replace(/[A-Z]/g, c => '-' + c.toLowerCase())}`, String(v)]);
}
