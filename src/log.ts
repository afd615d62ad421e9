// pino to stderr: stdout belongs to `listen`/`subscribe` (JSON events) and `dovecot-config`.
// Asynchronous writes: a synchronous write per log line cost ~6% of a delivery (bench profile);
// what is buffered is flushed when the process exits.
import { pino, type Logger } from 'pino';
import { DEFAULTS, envValue } from './config.js';
import { recordLog } from './admin/recent-errors.js';

export type { Logger };

let stderr: ReturnType<typeof pino.destination> | undefined;

function destination(): ReturnType<typeof pino.destination> {
    if (!stderr) {
        const dest = pino.destination({ dest: 2, sync: false });
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
                }
            }
        },
        destination()
    );
}
