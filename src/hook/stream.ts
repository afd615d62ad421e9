// The stream transport of the ingest endpoint (dovecot/vmbridge.lua with a tcp:// or unix: url):
// Dovecot's hook opens one connection per session, writes a signed hello line
// {"mac","vmbridge":2,"proc","user","ts"} and then one signed JSON batch per line (hook-auth.ts),
// and never waits for an answer — so nothing here can slow a mail operation down. The native
// driver (dovecot/native/) shares one connection among every user of a Dovecot process: its hello
// has no `user`, each batch names its own, and a line lost on such a connection is recounted
// through the seq gap of that user's `proc` at its next batch. Nothing is ever written back: the
// hook reads "readable" as "the bridge closed". Before the hello is verified a line may hold 1 KB;
// a line with a wrong MAC closes the connection. A line cut short by the hook (the bridge stalled
// until its socket buffer filled) or refused here is a lost batch: reported through onLost. On a
// shared connection a line cut at its end means the Dovecot process ended with batches it could
// not send (2.4 ends an LMTP process per connection, imap ends at LOGOUT): no later batch of
// theirs will show a gap, so every user heard on the connection lately is reported lost.
import type { Socket } from 'node:net';
import { z } from 'zod';
import { hookGaps, ingestBatches } from '../metrics.js';
import type { Batch } from './batch.js';
import { validateBatch } from './validate.js';
import { HookAuth } from './auth.js';
import { HOOK_SHARED_USERS_MAX } from '../limits.js';

export const HELLO_MAX = 1024;

export const HelloSchema = z.object({
    vmbridge: z.literal(2),
    proc: z.string().max(200),
    /** The Lua script's session user; absent on the native driver's shared connection. */
    user: z.string().min(1).max(300).optional(),
    ts: z.number()
});

export interface StreamHandlers {
    maxLine: number;
    auth: HookAuth;
    /** Per-batch admission (rate limit); a refused batch is a lost one. */
    admit(): boolean;
    /** The hello proved the key: the connection is the hook's; `shared`: the native driver's (no user). */
    onHello(shared: boolean): void;
    onBatch(batch: Batch): void;
    onLost(user: string): void;
    /** The connection of a proved hook closed: its Lua state (`proc`) sends no more on it. */
    onEnd?(proc: string): void;
}

/** Reads one hook connection; `first` is what was already read while telling it from HTTP. */
export function readStream(sock: Socket, first: Buffer, h: StreamHandlers): void {
    let hello: z.infer<typeof HelloSchema> | undefined;
    let parts: Buffer[] = [];
    let size = 0;
    /** A shared connection's users, most recently heard last (bounded). */
    const heard = new Set<string>();
    const lost = (result: string, atEnd = false) => {
        ingestBatches.inc({ result });
        if (!hello) return;
        hookGaps.inc({ kind: 'stream' });
        if (hello.user !== undefined) h.onLost(hello.user);
        else if (atEnd) new Set([...heard, ...userOf(Buffer.concat(parts))]).forEach(user => h.onLost(user)); // mid-stream: the next batch's seq gap tells whose
    };
    const hear = (user: string) => {
        heard.delete(user);
        heard.add(user);
        if (heard.size > HOOK_SHARED_USERS_MAX) heard.delete(heard.values().next().value!);
    };
    const signedObject = (buf: Buffer) => {
        const s = HookAuth.split(buf);
        return s && h.auth.verify(s.body, s.mac) ? { raw: parseJson(s.body), mac: s.mac } : undefined;
    };
    const batch = (r: Batch | undefined, mac: string) => {
        if (!r) lost('invalid');
        else if (!h.auth.fresh(r.ts, mac))
            ingestBatches.inc({ result: 'stale' }); // a replay, not a loss
        else if (!h.admit()) lost('rate_limited');
        else {
            ingestBatches.inc({ result: 'accepted' });
            if (hello?.user === undefined) hear(r.user);
            h.onBatch(r);
        }
    };
    /** false: close the connection; a Promise: a large batch is being validated in slices. */
    const line = (buf: Buffer): boolean | Promise<void> => {
        const signed = signedObject(buf);
        if (!hello) {
            const r = signed && HelloSchema.safeParse(signed.raw);
            if (!signed || !r?.success) ingestBatches.inc({ result: signed ? 'invalid' : 'unauthorized' });
            else if (!h.auth.fresh(r.data.ts, signed.mac)) ingestBatches.inc({ result: 'stale' });
            else {
                hello = r.data;
                h.onHello(hello.user === undefined);
                return true;
            }
            return false;
        }
        if (!signed) {
            lost('unauthorized'); // not the hook's line: nothing more from this connection is trusted
            return false;
        }
        const r = validateBatch(signed.raw);
        if (r instanceof Promise) return r.then(v => batch(v, signed.mac));
        batch(r, signed.mac);
        return true;
    };
    /** A batch still being validated: later lines, the end and the close wait for it (line order is batch order). */
    let pending: Promise<void> | undefined;
    let refused = false;
    const data = (chunk: Buffer) => {
        let start = 0;
        for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
            parts.push(chunk.subarray(start, nl));
            const whole = parts.length === 1 ? parts[0] : Buffer.concat(parts);
            parts = [];
            size = 0;
            start = nl + 1;
            const ok = line(whole);
            if (!ok) {
                refused = true;
                return void sock.destroy();
            }
            if (ok instanceof Promise) {
                sock.pause();
                const rest = chunk.subarray(start);
                // lines already received are handled even if the hook has closed meanwhile
                pending = ok.then(() => {
                    pending = undefined;
                    if (refused) return;
                    data(rest);
                    if (!pending && !sock.destroyed) sock.resume();
                });
                return;
            }
        }
        if (start < chunk.length) {
            parts.push(chunk.subarray(start));
            size += chunk.length - start;
            if (size > (hello ? h.maxLine : HELLO_MAX)) {
                lost('too_large');
                refused = true;
                sock.destroy();
            }
        }
    };
    const after = (f: () => void) => (pending ? void pending.then(() => after(f)) : f());
    sock.on('data', data);
    sock.on('end', () =>
        after(() => {
            if (size > 0) lost('truncated', true);
            sock.end();
        })
    );
    sock.on('error', () => undefined);
    sock.on('close', () => after(() => hello && h.onEnd?.(hello.proc)));
    data(first);
}

function parseJson(buf: Buffer): unknown {
    try {
        return JSON.parse(buf.toString('utf8'));
    } catch {
        return undefined;
    }
}

/** The user a cut line names, when its `"user":"…"` member arrived whole (the driver writes it
 * before the events). Unsigned, but from a connection whose hello proved the key. */
function userOf(cut: Buffer): string[] {
    const m = /"user":("(?:[^"\\]|\\.)*")/.exec(cut.toString('utf8'));
    if (!m) return [];
    try {
        const user: unknown = JSON.parse(m[1]);
        return typeof user === 'string' && user.length > 0 && user.length <= 1000 ? [user] : [];
    } catch {
        return [];
    }
}
