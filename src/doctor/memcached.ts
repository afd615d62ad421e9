// Every memcached server of --resolver (and --recipient-map-servers) answers `version`.
import type { ServerSpec } from '../memcached/servers.js';
import { about, connect, message, ok, readUntil, skip, unavailable, type Check, type Verdict } from './check.js';

export const memcached: Check = {
    name: 'memcached',
    async run({ config, timeoutMs }) {
        const lists: [string, ServerSpec[] | undefined][] = [
            ['--resolver', config.resolver.kind === 'memcached' ? config.resolver.servers : undefined],
            ['--recipient-map-servers', config.recipientMapServers?.servers]
        ];
        const used = lists.filter((s): s is [string, ServerSpec[]] => s[1] !== undefined);
        if (!used.length) return skip('--resolver memory: no memcached in use');
        const verdicts: Promise<Verdict>[] = [];
        for (const [flag, servers] of used) {
            for (const { host, port } of servers) {
                const name = `${host}:${port}`;
                verdicts.push(
                    (async () => {
                        try {
                            const sock = await connect({ host, port }, timeoutMs);
                            try {
                                sock.write('version\r\n');
                                const reply = await readUntil(sock, t => t.includes('\r\n'), timeoutMs);
                                if (!reply.startsWith('VERSION ')) return about(name, unavailable(`answered ${reply.trim()}`, `is ${name} (${flag}) a memcached server?`));
                                return about(name, ok(`memcached ${reply.slice(8).trim()}`));
                            } finally {
                                sock.destroy();
                            }
                        } catch (err) {
                            return about(name, unavailable(message(err), `start memcached on ${name} (apt-get install memcached) or correct ${flag}`));
                        }
                    })()
                );
            }
        }
        return Promise.all(verdicts);
    }
};
