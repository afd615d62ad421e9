// A loopback TCP forwarder the test can cut and restore: a real network failure between the
// bridge and Dovecot without touching Dovecot's processes.
import net from 'node:net';

export class TcpProxy {
    port = 0;
    private server?: net.Server;
    private readonly sockets = new Set<net.Socket>();

    constructor(private readonly upstreamPort: number) {}

    async start(port = this.port): Promise<this> {
        const server = net.createServer(client => {
            const up = net.connect(this.upstreamPort, '127.0.0.1');
            for (const s of [client, up]) {
                this.sockets.add(s);
                s.on('close', () => this.sockets.delete(s));
                s.on('error', () => undefined);
            }
            client.pipe(up).pipe(client);
            client.on('close', () => up.destroy());
            up.on('close', () => client.destroy());
        });
        await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(port, '127.0.0.1', () => resolve());
        });
        this.server = server;
        this.port = (server.address() as net.AddressInfo).port;
        return this;
    }

    /** Refuses new connections and cuts the open ones. */
    async stop(): Promise<void> {
        for (const s of this.sockets) s.destroy();
        await new Promise<void>(resolve => (this.server ? this.server.close(() => resolve()) : resolve()));
        this.server = undefined;
    }
}
