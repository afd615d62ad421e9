// The libmemcached configuration string as openchange_resolver takes it
// (docs.libmemcached.org/libmemcached_configuration.html): options separated by spaces or
// commas, case-insensitive; `--SERVER=host[:port][/?weight]` may repeat. vmbridge honours the
// servers; every other option is reported back so the caller can warn instead of ignoring it.
// Without any --SERVER the default server applies, as with openchange_resolver. A weight changes
// nothing: libmemcached's default (modula) distribution ignores it too.
export interface ServerSpec {
    host: string;
    port: number;
    weight?: number;
}

export interface ParsedServers {
    servers: ServerSpec[];
    /** Options understood by libmemcached but not by vmbridge (each deserves a warning). */
    unsupported: string[];
}

export const DEFAULT_RESOLVER = '--SERVER=127.0.0.1:11211';
const DEFAULT_PORT = 11211;

export function parseServers(config: string): ParsedServers {
    const servers: ServerSpec[] = [];
    const unsupported: string[] = [];
    for (const opt of config.split(/[\s,]+/).filter(Boolean)) {
        const m = /^--server=(.+)$/i.exec(opt);
        if (!m) {
            if (!opt.startsWith('--')) throw new Error(`'${opt}' in resolver string is not an option (expected --SERVER=host:port)`);
            unsupported.push(opt);
            continue;
        }
        const spec = parseServer(m[1]);
        if (!spec) throw new Error(`bad --SERVER value '${m[1]}' (expected host:port or host:port/?weight)`);
        servers.push(spec);
    }
    if (!servers.length) servers.push({ host: '127.0.0.1', port: DEFAULT_PORT });
    return { servers, unsupported };
}

function parseServer(v: string): ServerSpec | null {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?(?:\/\?(\d{1,5}))?$/.exec(v);
    if (!m) return null;
    const port = m[2] ? Number(m[2]) : DEFAULT_PORT;
    if (port < 1 || port > 65535) return null;
    const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
    return m[3] ? { host, port, weight: Number(m[3]) } : { host, port };
}
