// Runs a message through HeaderTap in given chunk sizes and returns what came out plus what the
// tap captured, so tests can prove pass-through and classification at any chunking.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { HeaderTap, type HeaderTapOptions } from '../../src/classify/header-tap.js';
import type { PartInfo } from '../../src/classify/mime-scan.js';

export const FIXTURES = join(import.meta.dirname, '../fixtures/classify');

export interface Fixture {
    name: string;
    eml: Buffer;
    expected: unknown;
}

export function loadCorpus(): Fixture[] {
    return readdirSync(FIXTURES)
        .filter(f => f.endsWith('.eml'))
        .sort()
        .map(f => ({
            name: f.slice(0, -4),
            eml: readFileSync(join(FIXTURES, f)),
            expected: JSON.parse(readFileSync(join(FIXTURES, f.slice(0, -4) + '.json'), 'utf8'))
        }));
}

export async function tapChunks(chunks: Buffer[], opts?: HeaderTapOptions): Promise<{ out: Buffer; header: Buffer; parts: PartInfo[]; bytes: number }> {
    const tap = new HeaderTap(opts);
    const out: Buffer[] = [];
    tap.on('data', (c: Buffer) => out.push(c));
    for (const c of chunks) tap.write(c);
    tap.end();
    await finished(tap);
    return { out: Buffer.concat(out), header: await tap.header, parts: await tap.parts, bytes: tap.bytes };
}

/** Splits at the given cut positions (ascending). */
export function cut(buf: Buffer, at: number[]): Buffer[] {
    const out: Buffer[] = [];
    let prev = 0;
    for (const a of [...at, buf.length]) {
        out.push(buf.subarray(prev, a));
        prev = a;
    }
    return out;
}

/** Deterministic PRNG (mulberry32) so a failing chunking can be reproduced from its seed. */
export function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export function randomChunks(buf: Buffer, rand: () => number, max: number): Buffer[] {
    const out: Buffer[] = [];
    for (let pos = 0; pos < buf.length;) {
        const n = 1 + Math.floor(rand() * max);
        out.push(buf.subarray(pos, pos + n));
        pos += n;
    }
    return out;
}
