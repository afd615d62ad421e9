// Starts an IntakeServer on a free loopback port with the in-memory deliverer, for policy and
// limit tests that need no real downstream.
import { createLogger } from '../../src/log.js';
import { loadConfig, type Config } from '../../src/config.js';
import { IntakeServer } from '../../src/intake/server.js';
import type { Authenticator } from '../../src/intake/auth.js';
import type { Deliverer } from '../../src/deliver/deliverer.js';
import { LineClient } from '../helpers/lmtp-client.js';
import { freePort } from '../helpers/net.js';
import { MemoryDeliverer, nullObserver } from './fake-deliverer.js';

export interface TestIntake<D extends Deliverer = MemoryDeliverer> {
    server: IntakeServer;
    port: number;
    deliverer: D;
    config: Config;
}

export async function startIntake<D extends Deliverer = MemoryDeliverer>(
    flags: Partial<Record<keyof Config, unknown>> = {},
    opts: { lmtp?: boolean; authenticator?: Authenticator; deliverer?: D } = {}
): Promise<TestIntake<D>> {
    const port = await freePort();
    const config = loadConfig(flags, {});
    const deliverer = (opts.deliverer ?? new MemoryDeliverer()) as D;
    const server = new IntakeServer({
        listen: { host: '127.0.0.1', port },
        lmtp: opts.lmtp ?? true,
        deliverer,
        observer: nullObserver,
        config,
        logger: createLogger(process.env.VMBRIDGE_TEST_LOG ?? 'silent'),
        authenticator: opts.authenticator
    });
    await server.listen();
    return { server, port, deliverer, config };
}

/** Test clients closed together at teardown; connect() reads the greeting. */
export class ClientPool {
    private readonly clients: LineClient[] = [];

    async connect(port: number, from?: string): Promise<{ c: LineClient; greeting: string }> {
        const c = await LineClient.connect(port, '127.0.0.1', from);
        this.clients.push(c);
        const g = await c.reply();
        return { c, greeting: `${g.code} ${g.text}` };
    }

    closeAll(): void {
        for (const c of this.clients.splice(0)) c.sock.destroy();
    }
}
