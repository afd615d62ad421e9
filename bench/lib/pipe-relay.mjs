// A zero-logic relay, the anchor for what the hop alone costs: a Node `net` server in a child
// process (like serve) piping bytes both ways between each client and the target, nothing
// parsed. startPipeRelay(target) runs this file as that child; it prints the address it listens on.
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { helper } from './env.mjs';

const SELF = fileURLToPath(import.meta.url);

/**
 * Starts the relay child in front of `target` (a port on 127.0.0.1, or a unix socket's path):
 * { port, pid, stop() }, `port` being where it listens — a port, or `listen` (a unix socket's path) when given.
 */
export async function startPipeRelay(target, listen) {
    const { startProcess } = await helper('process.ts');
    const { waitFor } = await helper('net.ts');
    const proc = startProcess(process.execPath, [SELF, String(target), ...(listen ? [listen] : [])]);
    const at = await waitFor(() => /^(.+)\n/.exec(proc.output())?.[1], 10_000, 'the relay address');
    return { port: listen ?? Number(at), pid: proc.child.pid, stop: () => proc.stop('SIGTERM') };
}

if (process.argv[1] === SELF) {
    const [target, listen] = process.argv.slice(2);
    const server = net.createServer(client => {
        const down = /^\d+$/.test(target) ? net.connect(Number(target), '127.0.0.1') : net.connect(target);
        client.setNoDelay(true);
        down.setNoDelay(true);
        client.pipe(down);
        down.pipe(client);
        client.on('error', () => down.destroy());
        down.on('error', () => client.destroy());
    });
    const ready = () => console.log(listen ?? server.address().port);
    listen ? server.listen(listen, ready) : server.listen(0, '127.0.0.1', ready);
    process.on('SIGTERM', () => process.exit(0));
}
