// The ingest's proof of the hook's key, on its own: the MAC over exact bytes, the line form,
// the time window and replay refusal (with an injected clock).
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HookAuth } from '../../src/hook/auth.js';

const KEY = 'hook-auth-key-0123456789abcdef0123';
const mac = (body: string) => createHmac('sha256', KEY).update(body).digest('hex');

describe('HookAuth', () => {
    it('splits a signed line into the exact signed bytes and the MAC, and verifies them', () => {
        const body = '{"proc":"p","seq":1,"ts":100}';
        const line = Buffer.from(`{"mac":"${mac(body)}",${body.slice(1)}`);
        const s = HookAuth.split(line)!;
        expect(s.body.toString()).toBe(body);
        const auth = new HookAuth(KEY);
        expect(auth.verify(s.body, s.mac)).toBe(true);
        expect(auth.verify(Buffer.from(body.replace('1', '2')), s.mac)).toBe(false);
        expect(new HookAuth('another-key-0123456789abcdef0123').verify(s.body, s.mac)).toBe(false);
        expect(HookAuth.split(Buffer.from(body))).toBeUndefined();
        expect(HookAuth.split(Buffer.from(`{"mac":"${'0'.repeat(63)}",${body.slice(1)}`))).toBeUndefined();
        expect(auth.verify(s.body, 'zz')).toBe(false);
    });

    it('refuses timestamps outside the window and a MAC seen before, and forgets MACs once stale', () => {
        let now = 1000;
        const a = mac('a');
        const auth = new HookAuth(KEY, 120, 10, () => now);
        expect(auth.fresh(now - 121, a)).toBe(false);
        expect(auth.fresh(now + 121, a)).toBe(false);
        expect(auth.fresh(undefined, a)).toBe(false);
        expect(auth.fresh(now - 60, a)).toBe(true);
        expect(auth.fresh(now, a)).toBe(false); // replay
        now += 500;
        expect(auth.fresh(now - 600, a)).toBe(false); // its old timestamp is stale now anyway
        for (let i = 0; i < 50; i++) expect(auth.fresh(now, mac(`m${i}`))).toBe(true); // the seen set stays bounded
        expect(auth.remembered).toBeLessThanOrEqual(10);
    });

    it('remembers only the MACs of the window: after it, the count falls back to what came since', () => {
        let now = 5000.25; // fractions of a second in the clock, as Date.now() / 1000 gives
        const auth = new HookAuth(KEY, 120, 200_000, () => now);
        for (let i = 0; i < 3000; i++) {
            expect(auth.fresh(now, mac(`b${i}`))).toBe(true);
            now += 0.1; // 10 batches a second: 1,200 in a window
        }
        expect(auth.remembered).toBeLessThanOrEqual(1220);
        now += 121;
        expect(auth.fresh(now, mac('last'))).toBe(true);
        expect(auth.remembered).toBe(1);
        expect(auth.fresh(now, mac('last'))).toBe(false); // still a replay after the prune
    });
});
