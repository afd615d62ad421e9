// vmbridge as a child process (`node bin/vmbridge.js serve`), as production runs it: it does not
// share an event loop with the benchmark's client. Its log goes to a file (default level, info),
// never through a pipe the benchmark would have to read.
import { openSync, closeSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT, RESULTS, helper } from './env.mjs';

/**
 * flags: serve's long flags in camelCase (lmtp, publish, replay, ingest are filled with free
 * ports unless given). nodeArgs: e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. cwd: with
 * `defaults`, only lmtp and ingest get free ports and serve runs in `cwd` (a fresh directory),
 * so its state directory, bus socket and maildir are the defaults under ./var. root: the build
 * to run (a copy with bin/ and dist/), default BENCH_SERVE_ROOT or this checkout. BENCH_SERVE_NODE_ARGS
 * (space-separated, e.g. `--trace-gc`) go before nodeArgs, for every serve child of a benchmark.
 */
export async function startServe(name, flags, { nodeArgs = [], defaults = false, cwd = ROOT, root = process.env.BENCH_SERVE_ROOT || ROOT } = {}) {
    const { freeListeners, freePort, toArgs, waitForPort } = await helper('net.ts');
    const { startProcess } = await helper('process.ts');
    const listeners = defaults ? { lmtp: `127.0.0.1:${await freePort()}`, ingest: `127.0.0.1:${await freePort()}` } : await freeListeners();
    const all = { ...listeners, ...flags };
    // lmtpPort: the port, or with `lmtp: 'unix:/path'` the socket's path (what openConnections takes)
    const lmtpPort = all.lmtp.startsWith('unix:') ? all.lmtp.slice(5) : Number(all.lmtp.split(':').pop());
    const args = toArgs(all);
    mkdirSync(RESULTS, { recursive: true });
    const logFile = path.join(RESULTS, `${name}.serve.log`);
    const log = openSync(logFile, 'w');
    const extra = process.env.BENCH_SERVE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const proc = startProcess(process.execPath, [...extra, ...nodeArgs, path.join(root, 'bin/vmbridge.js'), 'serve', ...args], { cwd, stdio: ['ignore', log, log] });
    closeSync(log);
    await waitForPort(lmtpPort, { greeting: /^220 /m, timeoutMs: 20_000 });
    return { lmtpPort, publish: all.publish, ingest: all.ingest, pid: proc.child.pid, logFile, stop: () => proc.stop('SIGTERM') };
}
