// Server choice for a key as libmemcached does it by default, so vmbridge and OpenChange (which
// uses libmemcached) read and write `resolver:*` on the same server of a cluster:
// MEMCACHED_DISTRIBUTION_MODULA (hash % server count, servers in configuration order) over
// hashkit's default hash, Jenkins' one-at-a-time (libhashkit/one_at_a_time.cc). A single server
// always gets index 0 without hashing (libmemcached/hash.cc).

/** Jenkins one-at-a-time over the key's bytes. libhashkit reads them through `const char *`,
 * signed on x86/ARM Linux builds, so bytes ≥ 0x80 enter sign-extended; we do the same. */
export function oneAtATime(key: Buffer | string): number {
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    let h = 0;
    for (const b of bytes) {
        h = (h + (b >= 0x80 ? b - 0x100 : b)) >>> 0;
        h = (h + (h << 10)) >>> 0;
        h = (h ^ (h >>> 6)) >>> 0;
    }
    h = (h + (h << 3)) >>> 0;
    h = (h ^ (h >>> 11)) >>> 0;
    h = (h + (h << 15)) >>> 0;
    return h;
}

export function serverIndex(key: string, serverCount: number): number {
    return serverCount <= 1 ? 0 : oneAtATime(key) % serverCount;
}
