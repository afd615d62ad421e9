// A real memcached on a free loopback port; stop() ends exactly that process.
import { freePort, waitForPort } from './net.js';
import { startProcess, type Started } from './process.js';

export class TestMemcached {
    port = 0;
    private proc?: Started;

    get server(): string {
        return `127.0.0.1:${this.port}`;
    }
    /** The libmemcached configuration string, as openchange_resolver takes it. */
    get resolver(): string {
        return `--SERVER=${this.server}`;
    }

    async start(): Promise<this> {
        if (!this.port) this.port = await freePort();
        this.proc = startProcess('/usr/bin/memcached', ['-l', '127.0.0.1', '-p', String(this.port), '-U', '0', '-u', 'nobody', '-m', '64']);
        await waitForPort(this.port).catch(async err => {
            await this.stop(); // `x = await startMemcached()` leaves the caller no handle
            throw err;
        });
        return this;
    }

    get pid(): number | undefined {
        return this.proc?.child.pid;
    }

    async stop(): Promise<void> {
        await this.proc?.stop();
        this.proc = undefined;
    }
}

export async function startMemcached(): Promise<TestMemcached> {
    return new TestMemcached().start();
}
