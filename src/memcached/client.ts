// A memjs client for a parsed libmemcached configuration string (servers.ts): servers chosen libmemcached's way
// (distribution.ts, with the string's --DISTRIBUTION/--HASH/--SORT-HOSTS), short timeouts and no
// retries, because every caller bounds its wait anyway.
import memjs from 'memjs';
import type { Logger } from '../log.js';
import { chooser } from './distribution.js';
import { parseServers, type ParsedServers } from './servers.js';
import { MEMCACHED_TIMEOUT_MS } from '../limits.js';

export type MemcachedClient = memjs.Client;

export interface ClientOptions {
    logger?: Logger;
    /** Per operation (default 250 ms). */
    timeoutMs?: number;
    /** memjs retries per operation (default 1). */
    retries?: number;
    /** Connect timeout (default twice timeoutMs). */
    connectTimeoutMs?: number;
    keepAlive?: boolean;
}

/** `config`: servers parsed by the schema; a string only from the package's users (index.ts exports this). */
export function createMemcachedClient(config: ParsedServers | string, opts: ClientOptions = {}): MemcachedClient {
    const { servers, placement, ignored } = typeof config === 'string' ? parseServers(config) : config;
    if (ignored.length) opts.logger?.debug({ ignored }, 'resolver: libmemcached options without effect on key placement, ignored');
    const timeout = (opts.timeoutMs ?? MEMCACHED_TIMEOUT_MS) / 1000;
    const logger = { log: (...args: unknown[]) => opts.logger?.debug({ memjs: args.map(String).join(' ') }, 'memjs') };
    const conntimeout = opts.connectTimeoutMs !== undefined ? opts.connectTimeoutMs / 1000 : timeout * 2;
    const client = new memjs.Client(
        servers.map(s => new memjs.Server(s.host, s.port, undefined, undefined, { timeout, conntimeout, keepAlive: opts.keepAlive })),
        { retries: opts.retries ?? 1, failover: false, logger }
    );
    // memjs lets the server choice be overridden; its typings say string, the code wants an index.
    (client as unknown as { getServer: (key: string) => number }).getServer = chooser(servers, placement);
    return client;
}

/** Settles within ms: the operation's result, or a timeout error. */
export function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`memcached did not answer within ${ms} ms`)), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
