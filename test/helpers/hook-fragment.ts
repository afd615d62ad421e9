// `vmbridge dovecot-config` as an administrator runs it, with the hook's key file in a temp dir
// of its own (tests with different tokens never share one), and a delaying proxy that plays a
// Dovecot slow to report.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface HookFragment {
    fragment: string;
    keyFile: string;
    cleanup(): void;
}

export function hookFragment(args: string[]): HookFragment {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-key-'));
    chmodSync(dir, 0o755);
    const keyFile = path.join(dir, 'dovecot-ingest-key.conf');
    const fragment = execFileSync(process.execPath, [path.join(ROOT, 'bin/vmbridge.js'), 'dovecot-config', '--dovecot-key-file', keyFile, ...args], { encoding: 'utf8' });
    return { fragment, keyFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A TCP proxy (on `listen`, else a free loopback port) that hands every chunk on `delayMs` later, in order. */
export async function delayingProxy(target: string, delayMs: number, listen?: string): Promise<{ address: string; close(): Promise<void> }> {
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const socks = new Set<net.Socket>();
    const server = net.createServer(client => {
        const up = net.connect(port, host);
        for (const s of [client, up]) {
            socks.add(s);
            s.on('close', () => socks.delete(s));
            s.on('error', () => undefined);
        }
        client.on('data', d => setTimeout(() => up.write(d), delayMs));
        client.on('end', () => setTimeout(() => up.end(), delayMs));
        up.on('close', () => client.destroy());
    });
    const port0 = listen ? Number(listen.slice(listen.lastIndexOf(':') + 1)) : 0;
    await new Promise<void>(r => server.listen(port0, '127.0.0.1', r));
    const a = server.address() as net.AddressInfo;
    return {
        address: `127.0.0.1:${a.port}`,
        close: () =>
            new Promise(r => {
                for (const s of socks) s.destroy();
                server.close(() => r());
            })
    };
}
