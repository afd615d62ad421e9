// The MTA's message stream → size guard → header tap, as pipeline() would join them but without
// its cost per message: when the last stream finishes, pipeline() destroys the others that have
// not emitted 'end' yet with a premature-close NodeError (a stack trace each, ~1.5 % of serve's
// busy time for 200 KB messages). What pipeline() was there for stays: a source that fails or
// closes before its end (the client went away mid-DATA) destroys the tap with an error, so the
// downstream never ends a truncated message.
import type { Readable, Transform } from 'node:stream';

export function chainBody(source: Readable, guard: Transform, tap: Transform, onBroken: () => void): void {
    source.pipe(guard).pipe(tap);
    // as pipeline() did: their failure is reported through onBroken and the tap's own state
    // (finished() reports `errored` even to a reader that comes later), never as an uncaught error
    guard.on('error', () => undefined);
    tap.on('error', () => undefined);
    let settled = false;
    const broken = (err?: Error) => {
        if (settled || source.readableEnded) return;
        settled = true;
        const cause = err ?? new Error('message stream closed before its end');
        guard.destroy(cause);
        tap.destroy(cause);
        onBroken();
    };
    source.on('error', broken);
    source.once('close', () => broken());
    source.once('end', () => (settled = true));
}
