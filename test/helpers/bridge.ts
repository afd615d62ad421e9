// Runs a Bridge in-process on free loopback ports, with a SUB socket on its bus.
import nano, { type Socket } from 'nanomsg';
import { Bridge } from '../../src/bridge.js';
import { loadConfig, type Config } from '../../src/config.js';
import { makeEvent, type VmEvent } from '../../src/events/event.js';
import { createLogger } from '../../src/log.js';
import { decodeFrame } from '../../src/wire/frame.js';
import { freeListeners, freePort, waitFor } from './net.js';

export interface TestBridge {
    bridge: Bridge;
    config: Config;
    lmtpPort: number;
    smtpPort?: number;
    stop(): Promise<void>;
}

export async function startBridge(flags: Partial<Record<keyof Config, unknown>> = {}, opts: { smtp?: boolean } = {}): Promise<TestBridge> {
    const lmtpPort = await freePort();
    const smtpPort = opts.smtp ? await freePort() : undefined;
    const config = loadConfig(
        {
            ...(await freeListeners(lmtpPort)),
            smtp: smtpPort ? `127.0.0.1:${smtpPort}` : undefined,
            logLevel: process.env.VMBRIDGE_TEST_LOG ?? 'silent',
            ...flags
        },
        {}
    );
    const bridge = new Bridge(config, createLogger(config.logLevel));
    await bridge.start();
    return { bridge, config, lmtpPort, smtpPort, stop: () => bridge.stop() };
}

const PROBE = 'probe-';

/** A SUB socket collecting decoded events; ready() proves the subscription is live. */
export class Subscriber {
    readonly events: VmEvent[] = [];
    private readonly probes = new Set<string>();
    private readonly sock: Socket;

    constructor(url: string, prefixes: string[] = ['']) {
        this.sock = nano.socket('sub', { chan: prefixes });
        this.sock.on('data', (buf: Buffer) => {
            const ev = decodeFrame(buf);
            // Readiness probes are kept apart so a late one never passes for a real event.
            if (ev?.id.startsWith(PROBE)) this.probes.add(ev.id);
            else if (ev) this.events.push(ev);
        });
        this.sock.connect(url);
    }

    /** Emits probe events through the bridge until one arrives (the PUB/SUB "slow joiner"). */
    async ready(bridge: Bridge, user = '__probe__'): Promise<void> {
        const probe = makeEvent({ id: `${PROBE}${Date.now()}`, type: 'delete', user });
        await waitFor(
            () => {
                bridge.events.emit(probe);
                return this.probes.has(probe.id);
            },
            10_000,
            'bus subscription'
        );
    }

    clear(): void {
        this.events.length = 0;
    }

    async waitFor(pred: (evs: VmEvent[]) => boolean, what = 'events', timeoutMs = 10_000): Promise<VmEvent[]> {
        await waitFor(() => pred(this.events), timeoutMs, what);
        return this.events;
    }

    close(): void {
        this.sock.close();
    }
}
