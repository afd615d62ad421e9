// `--lmtp unix:/path`: the LMTP listener on a unix socket, for Postfix's `lmtp:unix:` transport.
// File permissions are its access control (docs/policy.md): the socket gets --lmtp-socket-mode
// (default 0660), its group is the directory's when that is setgid — e.g. a directory
// vmbridge:postfix 2750 lets Postfix's lmtp client (user postfix) in and no other local user.
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

/** Listens on the socket file: a stale file (no listener) is replaced, a live one is an error. */
export async function listenUnix(server: net.Server, file: string, mode: number): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o750 });
    const existing = await lstat(file).catch(() => undefined);
    if (existing) {
        if (!existing.isSocket()) throw new Error(`${file} exists and is not a socket`);
        if (await answers(file)) throw new Error(`${file}: another process is listening there`);
        await unlink(file); // left by a crash
    }
    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(file, () => {
            server.off('error', reject);
            resolve();
        });
    });
    await chmod(file, mode);
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
