// The stream transport of the ingest endpoint (dovecot/vmbridge.lua with a tcp:// or unix: url):
// Dovecot's hook opens one connection per session, writes a hello line
// {"vmbridge":1,"token","proc","user"} and then one JSON batch per line, and never waits for an
// answer — so nothing here can slow a mail operation down. Nothing is ever written back: the
// hook reads "readable" as "the bridge closed". A line cut short by the hook (the bridge stalled
// until its socket buffer filled) or refused here is a lost batch: reported through onLost.
import type { Socket } from 'node:net';
import { z } from 'zod';
import { ingestBatches } from '../metrics.js';
import { BatchSchema, type Batch } from './dovecot/batch.js';

export const HelloSchema = z.object({
    vmbridge: z.literal(1),
    token: z.string(),
    proc: z.string().max(200),
    user: z.string().min(1).max(1000)
});

export interface StreamHandlers {
    maxLine: number;
    authorized(token: string): boolean;
    /** Per-batch admission (rate limit); a refused batch is a lost one. */
    admit(): boolean;
    onBatch(batch: Batch): void;
    onLost(user: string): void;
}

/** Reads one hook connection; `first` is what was already read while telling it from HTTP. */
export function readStream(sock: Socket, first: Buffer, h: StreamHandlers): void {
    let hello: z.infer<typeof HelloSchema> | undefined;
    let parts: Buffer[] = [];
    let size = 0;
    const lost = (result: string) => {
        ingestBatches.inc({ result });
        if (hello) h.onLost(hello.user);
    };
    const line = (buf: Buffer): boolean => {
        const raw = parseJson(buf);
        if (!hello) {
            const r = HelloSchema.safeParse(raw);
            if (r.success && h.authorized(r.data.token)) return Boolean((hello = r.data));
            ingestBatches.inc({ result: r.success ? 'unauthorized' : 'invalid' });
            return false;
        }
        const r = BatchSchema.safeParse(raw);
        if (!r.success) lost('invalid');
        else if (!h.admit()) lost('rate_limited');
        else {
            ingestBatches.inc({ result: 'accepted' });
            h.onBatch(r.data);
        }
        return true;
    };
    const data = (chunk: Buffer) => {
        let start = 0;
        for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
            parts.push(chunk.subarray(start, nl));
            const whole = parts.length === 1 ? parts[0] : Buffer.concat(parts);
            parts = [];
            size = 0;
            start = nl + 1;
            if (!line(whole)) return void sock.destroy();
        }
        if (start < chunk.length) {
            parts.push(chunk.subarray(start));
            size += chunk.length - start;
            if (size > h.maxLine) {
                lost('too_large');
                sock.destroy();
            }
        }
    };
    sock.on('data', data);
    sock.on('end', () => {
        if (size > 0) lost('truncated');
        sock.end();
    });
    sock.on('error', () => undefined);
    data(first);
}

function parseJson(buf: Buffer): unknown {
    try {
        return JSON.parse(buf.toString('utf8'));
    } catch {
        return undefined;
    }
}
