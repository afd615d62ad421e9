// Cursors are seqs: a state store numbers from its creation time in µs (16 digits), so every
// safe integer must be accepted as `?since=` / Last-Event-ID, and nothing else.
import { describe, expect, it } from 'vitest';
import { parseCursor } from '../../src/http/context.js';

describe('parseCursor', () => {
    it('takes every non-negative safe integer, a 16-digit µs-based seq included', () => {
        const seq = Date.now() * 1000 + 42;
        expect(parseCursor(String(seq))).toBe(seq);
        expect(parseCursor(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
        expect(parseCursor('0')).toBe(0);
    });

    it('refuses what is not one', () => {
        for (const bad of ['', '-1', '1.5', '1e3', '9007199254740993', '12345678901234567', 'abc', ' ']) expect(parseCursor(bad)).toBeUndefined();
    });
});
