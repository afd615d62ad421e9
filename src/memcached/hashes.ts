// libhashkit's key hash functions (libmemcached 1.1, as Debian 12 ships it), bit for bit, so a
// `--HASH=` in the resolver string picks the same server as OpenChange's libmemcached. libhashkit
// reads key bytes through `const char *` (signed on x86/ARM Linux builds): where a function
// widens a byte before mixing, bytes ≥ 0x80 enter sign-extended, and we do the same.
// HSIEH is refused (servers.ts): Debian's libmemcached is built without it and refuses it too.
import { createHash } from 'node:crypto';

export type HashName = 'DEFAULT' | 'MD5' | 'CRC' | 'FNV1_64' | 'FNV1A_64' | 'FNV1_32' | 'FNV1A_32' | 'MURMUR' | 'JENKINS';
export const HASHES: readonly HashName[] = ['DEFAULT', 'MD5', 'CRC', 'FNV1_64', 'FNV1A_64', 'FNV1_32', 'FNV1A_32', 'MURMUR', 'JENKINS'];

const signed = (b: number) => (b >= 0x80 ? b - 0x100 : b);

/** Jenkins one-at-a-time: libmemcached's default. */
export function oneAtATime(bytes: Buffer): number {
    let h = 0;
    for (const b of bytes) {
        h = (h + signed(b)) >>> 0;
        h = (h + (h << 10)) >>> 0;
        h = (h ^ (h >>> 6)) >>> 0;
    }
    h = (h + (h << 3)) >>> 0;
    h = (h ^ (h >>> 11)) >>> 0;
    return (h + (h << 15)) >>> 0;
}

/** The first four bytes of the MD5 digest, little-endian (hashkit_md5). */
export function md5(bytes: Buffer): number {
    return createHash('md5').update(bytes).digest().readUInt32LE(0);
}

let crcTable: Uint32Array | undefined;
/** hashkit_crc32: CRC-32, then bits 16..30 only. */
export function crc(bytes: Buffer): number {
    crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        return c >>> 0;
    });
    let c = 0xffffffff;
    for (const b of bytes) c = (crcTable[(c ^ b) & 0xff] ^ (c >>> 8)) >>> 0;
    return ((~c >>> 0) >>> 16) & 0x7fff;
}

const FNV32_INIT = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;
export function fnv1_32(bytes: Buffer): number {
    let h = FNV32_INIT;
    for (const b of bytes) h = (Math.imul(h, FNV32_PRIME) ^ signed(b)) >>> 0;
    return h;
}
export function fnv1a_32(bytes: Buffer): number {
    let h = FNV32_INIT;
    for (const b of bytes) h = Math.imul((h ^ signed(b)) >>> 0, FNV32_PRIME) >>> 0;
    return h;
}

const FNV64_INIT = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const M64 = (1n << 64n) - 1n;
/** 64-bit FNV-1, low 32 bits returned. */
export function fnv1_64(bytes: Buffer): number {
    let h = FNV64_INIT;
    for (const b of bytes) h = ((h * FNV64_PRIME) & M64) ^ (BigInt(signed(b)) & M64);
    return Number(h & 0xffffffffn);
}
/** libhashkit's FNV1A_64 runs in 32 bits with the 64-bit constants truncated. */
export function fnv1a_64(bytes: Buffer): number {
    let h = Number(FNV64_INIT & 0xffffffffn);
    const p = Number(FNV64_PRIME & 0xffffffffn);
    for (const b of bytes) h = Math.imul((h ^ signed(b)) >>> 0, p) >>> 0;
    return h;
}

/** MurmurHash2 as hashkit_murmur (seed 0xdeadbeef * length), little-endian reads. */
export function murmur(bytes: Buffer): number {
    const m = 0x5bd1e995;
    let len = bytes.length;
    let h = (Math.imul(0xdeadbeef, len) ^ len) >>> 0;
    let i = 0;
    while (len >= 4) {
        let k = bytes.readUInt32LE(i);
        k = Math.imul(k, m);
        k ^= k >>> 24;
        k = Math.imul(k, m);
        h = (Math.imul(h, m) ^ k) >>> 0;
        i += 4;
        len -= 4;
    }
    if (len) {
        let k = 0;
        for (let j = 0; j < len; j++) k |= bytes[i + j] << (8 * j);
        h = Math.imul((h ^ k) >>> 0, m) >>> 0;
    }
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, m) >>> 0;
    return (h ^ (h >>> 15)) >>> 0;
}

const rot = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Bob Jenkins' lookup3 hashlittle with initval 13 (hashkit_jenkins; its word reads are little-endian). */
export function jenkins(bytes: Buffer): number {
    let len = bytes.length;
    let a = (0xdeadbeef + len + 13) >>> 0;
    let b = a;
    let c = a;
    if (len === 0) return c;
    const padded = Buffer.alloc(Math.ceil(len / 12) * 12);
    bytes.copy(padded);
    const word = (i: number) => padded.readUInt32LE(i);
    let i = 0;
    while (len > 12) {
        a = (a + word(i)) >>> 0;
        b = (b + word(i + 4)) >>> 0;
        c = (c + word(i + 8)) >>> 0;
        a = (a - c) >>> 0;
        a = (a ^ rot(c, 4)) >>> 0;
        c = (c + b) >>> 0;
        b = (b - a) >>> 0;
        b = (b ^ rot(a, 6)) >>> 0;
        a = (a + c) >>> 0;
        c = (c - b) >>> 0;
        c = (c ^ rot(b, 8)) >>> 0;
        b = (b + a) >>> 0;
        a = (a - c) >>> 0;
        a = (a ^ rot(c, 16)) >>> 0;
        c = (c + b) >>> 0;
        b = (b - a) >>> 0;
        b = (b ^ rot(a, 19)) >>> 0;
        a = (a + c) >>> 0;
        c = (c - b) >>> 0;
        c = (c ^ rot(b, 4)) >>> 0;
        b = (b + a) >>> 0;
        len -= 12;
        i += 12;
    }
    // the last 1..12 bytes, zero-padded (what the masked word reads amount to)
    a = (a + word(i)) >>> 0;
    if (len > 4) b = (b + word(i + 4)) >>> 0;
    if (len > 8) c = (c + word(i + 8)) >>> 0;
    c = (c ^ b) >>> 0;
    c = (c - rot(b, 14)) >>> 0;
    a = (a ^ c) >>> 0;
    a = (a - rot(c, 11)) >>> 0;
    b = (b ^ a) >>> 0;
    b = (b - rot(a, 25)) >>> 0;
    c = (c ^ b) >>> 0;
    c = (c - rot(b, 16)) >>> 0;
    a = (a ^ c) >>> 0;
    a = (a - rot(c, 4)) >>> 0;
    b = (b ^ a) >>> 0;
    b = (b - rot(a, 14)) >>> 0;
    c = (c ^ b) >>> 0;
    c = (c - rot(b, 24)) >>> 0;
    return c;
}

const FUNCTIONS: Record<HashName, (b: Buffer) => number> = {
    DEFAULT: oneAtATime,
    MD5: md5,
    CRC: crc,
    FNV1_64: fnv1_64,
    FNV1A_64: fnv1a_64,
    FNV1_32: fnv1_32,
    FNV1A_32: fnv1a_32,
    MURMUR: murmur,
    JENKINS: jenkins
};

export function hashKey(name: HashName, key: Buffer | string): number {
    return FUNCTIONS[name](typeof key === 'string' ? Buffer.from(key, 'utf8') : key);
}
