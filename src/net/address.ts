// The listeners' shared plumbing: `unix:<path>` and `host:port` strings (IPv6 in brackets), parsed
// here only (config.ts turns every listener option into a ListenAddress once), and a listen() that
// rejects when the address cannot be bound (the CLI then exits 69).
import type { AddressInfo, Server } from 'node:net';

export interface HostPort {
    host: string;
    port: number;
}

/** A listener: a TCP host:port or a unix stream socket's path. */
export type ListenAddress = (HostPort & { path?: undefined }) | { path: string; host?: undefined; port?: undefined };

/** `unix:<path>` (a stream socket) or host:port. */
export function parseListenAddress(listen: string): ListenAddress {
    return listen.startsWith('unix:') ? { path: listen.slice('unix:'.length) } : parseHostPort(listen);
}

export function parseHostPort(hp: string): HostPort {
    const i = hp.lastIndexOf(':');
    return { host: stripBrackets(hp.slice(0, i)), port: Number(hp.slice(i + 1)) };
}

export function listenOn(server: Server, { host, port }: HostPort): Promise<AddressInfo> {
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

/** Where a client reaches a listener: a wildcard host (0.0.0.0, ::) is dialled on loopback. */
export function dialable(a: ListenAddress): HostPort | { path: string } {
    if (a.path !== undefined) return { path: a.path };
    return a.host === '0.0.0.0' || a.host === '::' ? { host: '127.0.0.1', port: a.port } : { host: a.host, port: a.port };
}

/** host:port, an IPv6 host in brackets. */
export function formatHostPort({ host, port }: HostPort): string {
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
