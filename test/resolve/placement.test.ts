// Server choice: vmbridge's distribution.ts against libmemcached itself (a C program built from
// test/openchange/placement.c on Debian's libmemcached), for every distribution and hash vmbridge
// supports, over 2, 3 and 5 servers; and the options it refuses.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooser } from '../../src/memcached/distribution.js';
import { HASHES } from '../../src/memcached/hashes.js';
import { parseServers, ResolverConfigError } from '../../src/memcached/servers.js';
import { buildC, type Built } from '../openchange/build.js';

const KEYS = [
    ...Array.from({ length: 60 }, (_, i) => `resolver:user${i}`),
    'resolver:alice',
    'resolver:bob@example.org',
    'resolver:jürgen',
    'resolver:émilie@exämple.org',
    'vmbridge:sub:alice:0',
    'resolver:' + 'x'.repeat(200),
    'resolver:abc',
    'resolver:abcdefghijklmno',
    'resolver:abcdefghijklmnopqrstuvwxyz0'
];
const HOSTS = ['127.0.0.1:11211', '127.0.0.1:11212', 'cache-b.example:11211', '10.1.2.3:22122', 'cache-a.example:4000'];

const configs: string[] = [];
for (const n of [2, 3, 5]) {
    const servers = HOSTS.slice(0, n)
        .map(h => `--SERVER=${h}`)
        .join(' ');
    for (const dist of ['', ' --DISTRIBUTION=modula', ' --DISTRIBUTION=consistent']) {
        for (const hash of HASHES) configs.push(`${servers}${dist}${hash === 'DEFAULT' ? '' : ` --HASH=${hash}`}`);
    }
    configs.push(`${servers} --DISTRIBUTION=consistent,MD5`, `${servers} --SORT-HOSTS`, `${servers} --SORT-HOSTS --DISTRIBUTION=consistent --HASH=CRC`);
    // weights: modula ignores them; after --DISTRIBUTION=consistent they make ketama weighted, before it not
    const weighted = HOSTS.slice(0, n)
        .map((h, i) => `--SERVER=${h}/?${i + 1}`)
        .join(' ');
    configs.push(`${weighted}`, `--DISTRIBUTION=consistent ${weighted}`, `--DISTRIBUTION=consistent ${weighted} --HASH=MURMUR`, `${weighted} --DISTRIBUTION=consistent`);
    // option order matters to libmemcached: the continuum keeps the hash of its last rebuild
    configs.push(
        `--HASH=FNV1A_32 --DISTRIBUTION=consistent ${servers}`,
        `--DISTRIBUTION=consistent --HASH=MURMUR ${servers}`,
        `--HASH=CRC ${servers} --DISTRIBUTION=consistent --SORT-HOSTS`
    );
    configs.push(`${servers} --TCP-NODELAY --BINARY-PROTOCOL --CONNECT-TIMEOUT=100`);
}

describe('server choice matches libmemcached', () => {
    let c: Built;
    beforeAll(() => {
        c = buildC();
    });
    afterAll(() => c?.cleanup());

    it.each(configs)('%s', config => {
        const reference = execFileSync(c.placement, [config], { input: KEYS.join('\n') + '\n', encoding: 'utf8' })
            .trim()
            .split('\n')
            .map(Number);
        const { servers, placement } = parseServers(config);
        const pick = chooser(servers, placement);
        expect(KEYS.map(k => pick(k))).toEqual(reference);
        // a comparison that cannot fail would prove nothing: the keys do spread over servers (CRC's
        // 15-bit values against 32-bit ketama points are libmemcached's own clustering)
        if (!/consistent.*HASH=CRC|HASH=CRC.*consistent/.test(config)) expect(new Set(reference).size).toBeGreaterThan(1);
    });
});

describe('options that would move keys are refused, naming the option', () => {
    it.each([
        ['--SERVER=127.0.0.1:1 --DISTRIBUTION=random', /--DISTRIBUTION=random/],
        ['--SERVER=127.0.0.1:1 --HASH=hsieh', /--HASH=HSIEH/],
        ['--SERVER=127.0.0.1:1 --NAMESPACE=oc', /--NAMESPACE/],
        ['--SERVER=127.0.0.1:1 --NUMBER-OF-REPLICAS=2', /--NUMBER-OF-REPLICAS/],
        ['--SERVER=127.0.0.1:1 --REMOVE-FAILED-SERVERS=1', /--REMOVE-FAILED-SERVERS/],
        ['--SERVER=127.0.0.1:1 --USE-UDP', /--USE-UDP/],
        ['--SOCKET=/run/memcached.sock', /--SOCKET/],
        ['--SERVER=127.0.0.1:1 --KETAMA-WEIGHTED', /--KETAMA-WEIGHTED/]
    ])('%s', (config, message) => {
        expect(() => parseServers(config)).toThrow(ResolverConfigError);
        expect(() => parseServers(config)).toThrow(message);
    });
});

describe('serve refuses them at start', () => {
    it('exits 64 naming the option, before listening on anything', () => {
        const bin = path.resolve(__dirname, '../../bin/vmbridge.js');
        const r = spawnSync(process.execPath, [bin, 'serve', '--resolver', '--SERVER=127.0.0.1:11211 --HASH=HSIEH', '--lmtp', '127.0.0.1:0'], {
            encoding: 'utf8',
            timeout: 20_000
        });
        expect(r.status).toBe(64);
        expect(r.stderr).toMatch(/--resolver.*--HASH=HSIEH/s);
    });
});
