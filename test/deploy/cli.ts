// The installed CLI as child processes, the way a deployment runs it: `vmbridge serve` (ready when
// it logs `vmbridge ready`) and `vmbridge listen` (one JSON event per stdout line).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { EventSchema, type VmEvent } from '../../src/events/event.js';
import { freePort, freeStateDir, toArgs, waitFor } from '../helpers/net.js';
import { startProcess, type Started } from '../helpers/process.js';

const BIN = path.resolve(__dirname, '../../bin/vmbridge.js');
const run = promisify(execFile);

export interface Serve extends Started {
    args: string[];
}

/** serve's listeners besides the one a deploy test is about (bus, ingest with its token, replay), each on a free loopback port. */
export async function sideListeners(): Promise<string[]> {
    return toArgs({
        publish: `tcp://127.0.0.1:${await freePort()}`,
        ingest: `127.0.0.1:${await freePort()}`,
        ingestToken: 'deploy-test-token-0123456789abcdef',
        replay: `127.0.0.1:${await freePort()}`
    });
}

/** Runs `vmbridge serve <args>` (through `prefix`, e.g. `nice -n 4`, which execs it) and resolves once it logged `vmbridge ready`. */
export async function startServe(args: string[], env: NodeJS.ProcessEnv = {}, prefix: string[] = []): Promise<Serve> {
    // Each serve its own state directory (journal, bus socket, tokens), as each deployment has.
    if (!args.includes('--state-dir')) args = [...args, '--state-dir', freeStateDir()];
    const [cmd, ...argv] = [...prefix, process.execPath, BIN, 'serve', ...args];
    const proc = startProcess(cmd, argv, { env: { ...process.env, ...env } });
    try {
        await waitFor(
            () => {
                if (proc.child.exitCode !== null) throw new Error(`vmbridge serve exited ${proc.child.exitCode}:\n${proc.output()}`);
                return proc.output().includes('"msg":"vmbridge ready"');
            },
            15_000,
            'vmbridge ready'
        );
    } catch (err) {
        await proc.stop('SIGKILL'); // the caller never gets a handle to stop it
        throw err;
    }
    return { ...proc, args };
}

export interface Listener {
    events: VmEvent[];
    /** stdout lines that were not a valid event (a test asserts there are none). */
    invalid: string[];
    stop(): Promise<void>;
    output(): string;
}

/** Runs `vmbridge listen <args>`; every stdout line must be one valid event. */
export function startListen(args: string[]): Listener {
    const proc = startProcess(process.execPath, [BIN, 'listen', ...args]);
    const events: VmEvent[] = [];
    const invalid: string[] = [];
    let buf = '';
    proc.child.stdout?.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            try {
                events.push(EventSchema.parse(JSON.parse(line)));
            } catch {
                invalid.push(line);
            }
        }
    });
    return { events, invalid, stop: () => proc.stop(), output: proc.output };
}

/** `vmbridge dovecot-config <args>`: the fragment an administrator appends to dovecot.conf. */
export async function dovecotConfig(args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, [BIN, 'dovecot-config', ...args]);
    return stdout;
}
