// Keys exactly as OpenChange's plugin computes them, and safe for memcached otherwise.
import { describe, expect, it } from 'vitest';
import { cnFor, resolverKey, sanitizeKey } from '../../src/resolve/key.js';
import { subscriptionKeys } from '../../src/resolve/subscriptions.js';

describe('resolver keys', () => {
    it('username cn cuts at the first @ and lowercases; email keeps the address', () => {
        expect(cnFor('Alice@Example.COM', 'username')).toBe('alice');
        expect(cnFor('Alice@Example.COM', 'email')).toBe('alice@example.com');
        expect(cnFor('bob', 'email')).toBe('bob');
        expect(resolverKey('Alice@Example.COM', 'username')).toBe('resolver:alice');
        expect(resolverKey('a@b@c', 'username')).toBe('resolver:a');
    });

    it('leaves valid keys alone and makes invalid or long ones safe, short and distinct', () => {
        expect(sanitizeKey('resolver:jürgen')).toBe('resolver:jürgen');
        const spaced = sanitizeKey('resolver:a b');
        expect(spaced).not.toMatch(/[\x00-\x20\x7f]/);
        expect(spaced).not.toBe(sanitizeKey('resolver:a\tb'));
        const long = sanitizeKey('resolver:' + 'ü'.repeat(300));
        expect(Buffer.byteLength(long)).toBeLessThanOrEqual(250);
        expect(long).not.toBe(sanitizeKey('resolver:' + 'ü'.repeat(301)));
        for (const k of subscriptionKeys('x'.repeat(400) + ' y')) {
            expect(Buffer.byteLength(k)).toBeLessThanOrEqual(250);
            expect(k).not.toMatch(/[\x00-\x20\x7f]/);
        }
    });
});
