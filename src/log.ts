// pino to stderr: stdout belongs to `listen`/`subscribe` (JSON events) and `dovecot-config`.
// Asynchronous writes: a synchronous write per log line cost ~6% of a delivery (bench profile);
// lines are batched (LOG_BUFFER_BYTES, at least every LOG_FLUSH_MS; warn and above at once);
// what is buffered is flushed when the process exits.
import { pino, type Logger } from 'pino';
import { DEFAULTS, envValue } from './config.js';
import { recordLog } from './admin/recent-errors.js';
import { LOG_BUFFER_BYTES, LOG_FLUSH_MS } from './limits.js';

export type { Logger };

let stderr: ReturnType<typeof pino.destination> | undefined;

function destination(): ReturnType<typeof pino.destination> {
    if (!stderr) {
        const dest = pino.destination({ dest: 2, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS });
        process.once('exit', () => dest.flushSync());
        stderr = dest;
    }
    return stderr;
}

export function createLogger(level = envValue('logLevel') ?? DEFAULTS.logLevel): Logger {
    return pino(
        {
            level,
            base: { name: 'vmbridge' },
            // warn and above also go to the status page's recent errors (redacted there)
            hooks: {
                logMethod(args, method, lvl) {
                    if (lvl >= 40) recordLog(args, lvl);
                    method.apply(this, args);
                    if (lvl >= 40) flushNow();
                }
            }
        },
        destination()
    );
}

/** A warning or error is not held back with the info lines. */
function flushNow(): void {
    try {
        stderr?.flush();
    } catch {
        // destroyed (the process is exiting): its exit handler wrote what was left
    }
}
