// How the ingest knows a batch comes from Dovecot's hook without the hook ever sending the token:
// every stream line is `{"mac":"<hex>",` + the rest of a JSON object, and every HTTP POST has an
// X-Vmbridge-Mac header; the MAC is HMAC-SHA256 under the token over the object's exact bytes
// (the line with the mac member taken out, or the POST body), which hold the batch identity
// (proc, seq) and a timestamp `ts` (seconds). Stale timestamps and MACs seen before are refused,
// so a process that squatted the ingest address and recorded batches can neither forge nor
// replay one (dovecot/vmbridge.lua makes them).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HOOK_MAC_WINDOW_SEC, HOOK_SEEN_MAX } from '../limits.js';

const PREFIX = Buffer.from('{"mac":"');
const MAC_HEX = 64;

export class HookAuth {
    /** MACs seen within the window (a 16-byte prefix as a one-byte string → expiry in whole seconds
     * after `base`, a small integer): every batch passes through, so each entry is kept small. */
    private readonly seen = new Map<string, number>();
    private readonly base: number;

    constructor(
        private readonly key: string,
        private readonly windowSec = HOOK_MAC_WINDOW_SEC,
        private readonly maxSeen = HOOK_SEEN_MAX,
        private readonly now = () => Date.now() / 1000
    ) {
        this.base = Math.floor(this.now());
    }

    /** MACs remembered against replays (bounded by the window and maxSeen). */
    get remembered(): number {
        return this.seen.size;
    }

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
        this.prune(now - this.base);
        // Unique enough: the full MAC was verified; two batches sharing 128 bits of it do not happen.
        const id = Buffer.from(mac.slice(0, 32), 'hex').toString('latin1');
        if (this.seen.has(id)) return false;
        this.seen.set(id, Math.ceil(now - this.base) + this.windowSec);
        return true;
    }

    private prune(now: number): void {
        for (const [mac, until] of this.seen) {
            if (until > now && this.seen.size < this.maxSeen) break; // Map order = insertion = expiry order
            this.seen.delete(mac);
        }
    }
}
