// A zero-logic relay, the anchor for what the hop alone costs: a Node `net` server in a child
// process (like serve) piping bytes both ways between each client and the target port, nothing
// parsed. startPipeRelay(port) runs this file as that child; it prints the port it listens on.
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { helper } from './env.mjs';

const SELF = fileURLToPath(import.meta.url);

/** Starts the relay child in front of 127.0.0.1:targetPort: { port, pid, stop() }. */
export async function startPipeRelay(targetPort) {
    const { startProcess } = await helper('process.ts');
    const { waitFor } = await helper('net.ts');
    const proc = startProcess(process.execPath, [SELF, String(targetPort)]);
    const port = Number(await waitFor(() => /^(\d+)\n/.exec(proc.output())?.[1], 10_000, 'the relay port'));
    return { port, pid: proc.child.pid, stop: () => proc.stop('SIGTERM') };
}

if (process.argv[1] === SELF) {
    const target = Number(process.argv[2]);
    const server = net.createServer(client => {
        const down = net.connect(target, '127.0.0.1');
        client.setNoDelay(true);
        down.setNoDelay(true);
        client.pipe(down);
        down.pipe(client);
        client.on('error', () => down.destroy());
        down.on('error', () => client.destroy());
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));
    process.on('SIGTERM', () => process.exit(0));
}
