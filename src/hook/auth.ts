// How the ingest knows a batch comes from Dovecot's hook without the hook ever sending the token:
// every stream line is `{"mac":"<hex>",` + the rest of a JSON object, and every HTTP POST has an
// X-Vmbridge-Mac header; the MAC is HMAC-SHA256 under the token over the object's exact bytes
// (the line with the mac member taken out, or the POST body), which hold the batch identity
// (proc, seq) and a timestamp `ts` (seconds). Stale timestamps and MACs seen before are refused,
// so a process that squatted the ingest address and recorded batches can neither forge nor
// replay one (dovecot/vmbridge.lua makes them).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HOOK_REPLAY_WINDOW_SEC, HOOK_SEEN_MAX } from '../limits.js';

const PREFIX = Buffer.from('{"mac":"');
const MAC_HEX = 64;

export class HookAuth {
    private readonly seen = new Map<string, number>();

    constructor(
        private readonly key: string,
        private readonly windowSec = HOOK_REPLAY_WINDOW_SEC,
        private readonly maxSeen = HOOK_SEEN_MAX,
        private readonly now = () => Date.now() / 1000
    ) {}

    /** A stream line → the signed object's bytes and its MAC, or undefined when it is not in that form. */
    static split(line: Buffer): { body: Buffer; mac: string } | undefined {
        const end = PREFIX.length + MAC_HEX;
        if (line.length < end + 2 || !line.subarray(0, PREFIX.length).equals(PREFIX) || line[end] !== 0x22 || line[end + 1] !== 0x2c) return undefined;
        return { body: Buffer.concat([Buffer.from('{'), line.subarray(end + 2)]), mac: line.subarray(PREFIX.length, end).toString('latin1') };
    }

    /** The MAC over these exact bytes is right (constant time). */
    verify(body: Buffer, mac: string | undefined): boolean {
        if (typeof mac !== 'string' || mac.length !== MAC_HEX) return false;
        const want = createHmac('sha256', this.key).update(body).digest();
        const given = Buffer.from(mac, 'hex');
        return given.length === want.length && timingSafeEqual(given, want);
    }

    /** A verified object's timestamp is within the window and its MAC was not used before. */
    fresh(ts: number | undefined, mac: string): boolean {
        const now = this.now();
        if (typeof ts !== 'number' || Math.abs(now - ts) > this.windowSec) return false;
        this.prune(now);
        if (this.seen.has(mac)) return false;
        this.seen.set(mac, now + this.windowSec);
        return true;
    }

    private prune(now: number): void {
        for (const [mac, until] of this.seen) {
            if (until > now && this.seen.size < this.maxSeen) break; // Map order = insertion = expiry order
            this.seen.delete(mac);
        }
    }
}
