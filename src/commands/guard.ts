// serve's process-level policy for errors no code path handled. An unhandled promise rejection
// is a bug in one request's path: it is logged and counted, and the process (with every other
// session) keeps running. An uncaught exception may have left shared state half-changed: the
// bridge drains (open transactions finish, new ones get 421) and exits 70 for the supervisor
// (systemd Restart=) to start a clean process; nothing acknowledged is lost either way.
import type { Logger } from '../log.js';
import * as metrics from '../metrics.js';
import { EX } from './exit.js';
import { GUARD_DEADLINE_MS } from '../limits.js';

/** deadlineMs: exit even when the drain hangs (the state is suspect after all). */
export function installProcessGuard(log: Logger, drain: () => Promise<void>, deadlineMs = GUARD_DEADLINE_MS): () => void {
    const onRejection = (reason: unknown) => {
        metrics.processFaults.inc({ kind: 'unhandled_rejection' });
        log.error({ err: describe(reason) }, 'unhandled promise rejection (bug): logged, process kept running');
    };
    let exiting = false;
    const onException = (err: Error) => {
        metrics.processFaults.inc({ kind: 'uncaught_exception' });
        log.fatal({ err: describe(err) }, 'uncaught exception: draining and exiting');
        if (exiting) return;
        exiting = true;
        const exit = () => process.exit(EX.SOFTWARE);
        setTimeout(exit, deadlineMs);
        drain().then(exit, exit);
    };
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    return () => {
        process.off('unhandledRejection', onRejection);
        process.off('uncaughtException', onException);
    };
}

function describe(e: unknown): { message: string; code?: string; stack?: string } {
    if (e instanceof Error) return { message: e.message, code: (e as NodeJS.ErrnoException).code, stack: e.stack };
    return { message: String(e) };
}
