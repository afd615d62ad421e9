// The listeners' shared plumbing: `unix:<path>` and `host:port` strings (IPv6 in brackets), read
// here only, and a listen() that rejects when the address cannot be bound (the CLI then exits 69).
import type { AddressInfo, Server } from 'node:net';

/** A listener address is `unix:<path>` (a stream socket) or host:port; this tells which. */
export function unixPath(listen: string): string | undefined {
    return listen.startsWith('unix:') ? listen.slice('unix:'.length) : undefined;
}

export function splitHostPort(hp: string): { host: string; port: number } {
    const i = hp.lastIndexOf(':');
    return { host: stripBrackets(hp.slice(0, i)), port: Number(hp.slice(i + 1)) };
}

export function listenOn(server: Server, hostPort: string): Promise<AddressInfo> {
    const { host, port } = splitHostPort(hostPort);
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
            server.off('error', reject);
            resolve(server.address() as AddressInfo);
        });
    });
}

/** `[::1]` → `::1`: URL.hostname and host:port strings keep IPv6 brackets; sockets want none. */
export function stripBrackets(host: string): string {
    return host.replace(/^\[|\]$/g, '');
}
