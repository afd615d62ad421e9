// A pino logger whose records the test can read.
import { pino, type Logger } from 'pino';

export function captureLogger(): { logger: Logger; records: { level: number; msg: string; [k: string]: unknown }[] } {
    const records: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void records.push(JSON.parse(s)) });
    return { logger, records };
}
