// `--lmtp unix:/path`: the LMTP listener on a unix socket, for Postfix's `lmtp:unix:` transport.
// File permissions are its access control (docs/policy.md): the socket gets --lmtp-socket-mode
// (default 0660), its group is the directory's when that is setgid — e.g. a directory
// vmbridge:postfix 2750 lets Postfix's lmtp client (user postfix) in and no other local user.
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

/** Listens on the socket file: a stale file (no listener) is replaced, a live one is an error.
 * Without mode the file keeps the permissions the umask gives it. */
export async function listenUnix(server: net.Server, file: string, mode?: number): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o750 });
    const existing = await lstat(file).catch(() => undefined);
    if (existing) {
        if (!existing.isSocket()) throw new Error(`${file} exists and is not a socket`);
        if (await answers(file)) throw new Error(`${file}: another process is listening there`);
        await unlink(file); // left by a crash
    }
    await listening(server, file);
    if (mode !== undefined) await chmod(file, mode);
}

/** A unix socket path (stale file replaced, as nanomsg binds ipc://) or a tcp host and port. */
export async function listenAt(server: net.Server, address: { path: string } | { host: string; port: number }, mode?: number): Promise<void> {
    if ('path' in address) return listenUnix(server, address.path, mode);
    await listening(server, address);
}

/** Resolves once the server listens; rejects with the bind error. */
function listening(server: net.Server, at: string | net.ListenOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(at, () => {
            server.off('error', reject);
            resolve();
        });
    });
}

function answers(file: string): Promise<boolean> {
    return new Promise(resolve => {
        const s = net.connect(file);
        s.once('connect', () => {
            s.destroy();
            resolve(true);
        });
        s.once('error', () => resolve(false));
    });
}
