// An experiment for bench/dovecot-cost (variants native-sink, native-unix-sink): a receiver that
// reads the hook's stream and throws it away, in a child process of its own. Against `vmbridge
// serve` as the receiver it tells what the driver's send costs the STORE from what the woken
// receiver's CPU does (serve spends ~1 ms per batch on the same 2 cores as the IMAP client).
import { helper } from './env.mjs';

const SINK = `
const net = require('node:net');
let lines = 0;
const server = net.createServer(sock => {
    sock.on('data', d => { for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++; });
    sock.on('error', () => undefined);
});
process.on('SIGTERM', () => { process.stdout.write('lines ' + lines + '\\n', () => process.exit(0)); });
const where = process.argv[1];
server.listen(where.startsWith('/') ? where : Number(where), where.startsWith('/') ? undefined : '127.0.0.1', () => {
    if (where.startsWith('/')) require('node:fs').chmodSync(where, 0o666);
    process.stdout.write('ready\\n');
});
`;

/** Listens on `where` (a port or a unix socket path); stop() resolves with the lines it read. */
export async function ingestSink(where) {
    const { startProcess } = await helper('process.ts');
    const { waitFor } = await helper('net.ts');
    const sink = startProcess(process.execPath, ['-e', SINK, String(where)]);
    await waitFor(() => sink.output().includes('ready'), 10_000, 'ingest sink');
    return {
        pid: sink.child.pid,
        async stop() {
            await sink.stop();
            return Number(/lines (\d+)/.exec(sink.output())?.[1] ?? NaN);
        }
    };
}
