// libmemcached configuration strings and libmemcached's default server choice.
import { describe, expect, it } from 'vitest';
import { oneAtATime, serverIndex } from '../../src/memcached/distribution.js';
import { parseServers } from '../../src/memcached/servers.js';

describe('parseServers', () => {
    it('reads several --SERVER options, weights, default port, placement options and harmless ones', () => {
        expect(parseServers('--SERVER=10.0.0.1:11211 --SERVER=cache-2.example:11212/?3 --server=[::1]:5 --BINARY-PROTOCOL --HASH=MD5')).toEqual({
            servers: [
                { host: '10.0.0.1', port: 11211 },
                { host: 'cache-2.example', port: 11212, weight: 3 },
                { host: '::1', port: 5 }
            ],
            placement: { distribution: 'modula', hash: 'MD5', pointsHash: 'DEFAULT', sortHosts: false },
            ignored: ['--BINARY-PROTOCOL']
        });
        // libmemcached separates options by spaces only
        expect(() => parseServers('--SERVER=10.0.0.1:11211,--SERVER=10.0.0.2:11211')).toThrow(/bad --SERVER/);
        expect(parseServers('--SERVER=cache').servers).toEqual([{ host: 'cache', port: 11211 }]);
        expect(parseServers('--TCP-NODELAY').servers).toEqual([{ host: '127.0.0.1', port: 11211 }]);
        expect(() => parseServers('127.0.0.1:11211')).toThrow(/not an option/);
        expect(() => parseServers('--SERVER=a:99999')).toThrow(/bad --SERVER/);
    });
});

describe('libmemcached default distribution', () => {
    // Values from a C build of libhashkit's one_at_a_time definition (bytes read through a
    // signed `const char *`, as on x86 Linux), with hash % 2 and hash % 3.
    const reference: Array<[string, number, number, number]> = [
        ['resolver:alice', 228703738, 0, 1],
        ['resolver:bob', 521229806, 0, 2],
        ['resolver:carol', 3839584466, 0, 2],
        ['resolver:dave', 1036234409, 1, 2],
        ['resolver:alice@example.com', 2873863376, 0, 2],
        ['resolver:jürgen', 1092837797, 1, 2],
        ['vmbridge:sub:alice:0', 3200629489, 1, 1],
        ['a', 3392050242, 0, 0]
    ];
    it.each(reference)('%s hashes like libhashkit and picks the same server', (key, hash, of2, of3) => {
        expect(oneAtATime(key)).toBe(hash);
        expect(serverIndex(key, 2)).toBe(of2);
        expect(serverIndex(key, 3)).toBe(of3);
        expect(serverIndex(key, 1)).toBe(0);
    });
});
