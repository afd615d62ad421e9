// Starts bench/lib/emitter.mjs as a child process (a full Bridge: LMTP intake, bus, pusher, with
// its event entry driven over IPC) and talks to it.
import { fork } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { RESULTS, helper } from './env.mjs';

export async function startBridgeChild(name, flags, { execArgv = [] } = {}) {
    const { freeListeners } = await helper('net.ts');
    const config = { ...(await freeListeners()), ...flags };
    // publish: 'default' → serve's default bus, ipc://<state-dir>/bus.sock
    if (config.publish === 'default') config.publish = `ipc://${path.resolve(config.stateDir, 'bus.sock')}`;
    const lmtpPort = Number(config.lmtp.split(':').pop());
    mkdirSync(RESULTS, { recursive: true });
    const log = openSync(path.join(RESULTS, `${name}.bridge.log`), 'w');
    const child = fork(new URL('./emitter.mjs', import.meta.url), [JSON.stringify(config)], {
        execArgv,
        stdio: ['ignore', log, log, 'ipc'],
        env: { ...process.env, BENCH_BUILT: '1' }
    });
    closeSync(log);
    const replies = [];
    const waiters = [];
    child.on('message', m => (waiters.length ? waiters.shift()(m) : replies.push(m)));
    const next = () => (replies.length ? Promise.resolve(replies.shift()) : new Promise(r => waiters.push(r)));
    const exited = new Promise(r => child.once('exit', r));
    let stopping;
    const ready = await Promise.race([next(), exited.then(code => ({ exited: code }))]);
    if (!ready.ready) throw new Error(`bridge child did not start (${JSON.stringify(ready)}); see bench/results/${name}.bridge.log`);
    return {
        lmtpPort,
        publish: config.publish,
        pid: child.pid,
        /** Emits paced events in the child; resolves when the last one was handed to the bridge. */
        async emit(opts) {
            child.send({ emit: opts });
            return (await next()).emitted;
        },
        /** BENCH_STAGES=1 in the child's env: the stage times recorded since the last call (emitter.mjs). */
        async stages() {
            child.send({ stages: true });
            return (await next()).stages;
        },
        /** Stops the bridge (it drains) and waits for the process to exit; safe to call twice. */
        stop() {
            stopping ??= (async () => {
                if (child.exitCode === null && child.connected) child.send({ stop: true });
                const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
                await exited;
                clearTimeout(t);
            })();
            return stopping;
        }
    };
}
