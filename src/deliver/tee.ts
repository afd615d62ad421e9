// Copies one message stream into several writables (a socket, dovecot-lda stdins, a file) with
// backpressure: the source pauses while any sink is full, so no message is held in memory.
import { finished, type Readable, type Writable } from 'node:stream';

/**
 * A sink that errors or closes is dropped and the others go on; an aborted copy drops them all.
 * The source is always read to its end: the MTA side must finish its DATA even when nothing is
 * left to write to. Resolves when the source ended (surviving sinks are then end()ed); rejects
 * when the source failed, leaving the sinks to the caller (ending them would commit a truncated
 * message).
 */
export function tee(source: Readable, sinks: Writable[], signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        const live = new Set<Writable>();
        const blocked = new Set<Writable>();
        const resume = () => {
            if (blocked.size === 0 && source.isPaused()) source.resume();
        };
        const drop = (s: Writable) => {
            if (!live.delete(s)) return;
            blocked.delete(s);
            s.off('drain', drains.get(s)!);
            resume();
        };
        const drains = new Map<Writable, () => void>();
        for (const s of sinks) {
            live.add(s);
            const onDrain = () => {
                blocked.delete(s);
                resume();
            };
            drains.set(s, onDrain);
            s.on('drain', onDrain);
            s.once('error', () => drop(s));
            s.once('close', () => drop(s));
        }
        const dropAll = () => {
            for (const s of [...live]) drop(s);
        };
        if (signal?.aborted) dropAll();
        signal?.addEventListener('abort', dropAll, { once: true });

        source.on('data', (chunk: Buffer) => {
            for (const s of live) if (!s.write(chunk)) blocked.add(s);
            if (blocked.size > 0) source.pause();
        });
        finished(source, err => {
            signal?.removeEventListener('abort', dropAll);
            if (err) return reject(err);
            for (const s of [...live]) {
                drop(s);
                s.end();
            }
            resolve();
        });
    });
}

/** Reads and discards the rest of a message the MTA is still sending. */
export function drain(message: Readable): void {
    message.on('error', () => undefined);
    message.resume();
}
