// pino to stderr: stdout belongs to `listen`/`subscribe` (JSON events) and `dovecot-config`.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = process.env.VMBRIDGE_LOG_LEVEL || 'info'): Logger {
    return pino({ level, base: { name: 'vmbridge' } }, pino.destination(2));
}
