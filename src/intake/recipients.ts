// Recipient mapping, as Unity Connection's SMTP proxy addresses: an RCPT address (alias, proxy
// address) maps to the Dovecot user that delivery and events use. Sources: a file (`address user`
// per line, # comments, reloaded on demand) and optionally memcached. A recipient in neither is
// "unknown": passed on under --username-format (default; the downstream decides), refused with
// 550 5.1.1, or relayed to the smart host. A map that is needed but unreachable gives 451 — never a
// guess that could misdeliver.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createMemcachedClient } from '../memcached/client.js';
import type { ParsedServers } from '../memcached/servers.js';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { noUser } from '../deliver/deliverer.js';
import type { Logger } from '../log.js';
import { formatUsername } from './username.js';
import { reply } from '../smtp/replies.js';
import { MEMCACHED_TIMEOUT_MS } from '../limits.js';

export const UNKNOWN_RECIPIENT = ['pass', 'reject', 'relay'] as const;
export type UnknownRecipientPolicy = (typeof UNKNOWN_RECIPIENT)[number];

/** What intake does with a recipient: deliver to a Dovecot user, or relay it through the smart host. */
export type Resolution = { kind: 'user'; user: string; mapped: boolean } | { kind: 'relay' };

/** A remote map: resolves undefined for a miss, rejects when the map cannot be asked. */
export interface MapSource {
    get(address: string): Promise<string | undefined>;
    close(): void;
}

const Address = z
    .string()
    .min(1)
    .max(320)
    .regex(/^[^\s#]+$/, 'an address without spaces');
const User = z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^\s\x00-\x1f\x7f]+$/, 'a user name without spaces or control characters');

/** Parses the map file; a bad line is a configuration error naming the file and line. */
export function parseRecipientMap(text: string, source: string): Map<string, string> {
    const map = new Map<string, string>();
    text.split(/\r?\n/).forEach((raw, i) => {
        const line = raw.replace(/(^|\s)#.*$/, '').trim();
        if (!line) return;
        const fields = line.split(/\s+/);
        const address = Address.safeParse(fields[0]);
        const user = User.safeParse(fields[1]);
        if (fields.length !== 2 || !address.success || !user.success) {
            throw new ConfigError(`${source}:${i + 1}: expected "address user", got "${line}"`);
        }
        map.set(address.data.toLowerCase(), user.data);
    });
    return map;
}

export interface RecipientMapOptions {
    /** The map file (`address user` per line). */
    file?: string;
    /** A remote map (memcached) asked after the file. */
    remote?: MapSource;
    unknown: UnknownRecipientPolicy;
    /** Dovecot's auth_username_format, for recipients passed on unmapped. */
    usernameFormat: string;
    logger?: Logger;
}

export class RecipientMap {
    private entries = new Map<string, string>();

    private constructor(private readonly opts: RecipientMapOptions) {}

    /** Reads the file at once (a small config file, like --config), so a bad one fails startup with 64. */
    static open(opts: RecipientMapOptions): RecipientMap {
        const map = new RecipientMap(opts);
        map.reload();
        return map;
    }

    /** Re-reads the file (e.g. on SIGHUP). On error the previous map stays in force and the error is thrown. */
    reload(): number {
        if (!this.opts.file) return 0;
        let text: string;
        try {
            text = readFileSync(this.opts.file, 'utf8');
        } catch (err) {
            throw new ConfigError(`recipient map ${this.opts.file}: ${(err as Error).message}`);
        }
        this.entries = parseRecipientMap(text, this.opts.file);
        this.opts.logger?.info({ file: this.opts.file, entries: this.entries.size }, 'recipient map loaded');
        return this.entries.size;
    }

    /** Throws SmtpError: 451 4.4.3 when the remote map is unreachable, 550 5.1.1 for unknown recipients under `reject`. */
    async resolve(address: string): Promise<Resolution> {
        const key = address.toLowerCase();
        const local = this.entries.get(key);
        if (local) return { kind: 'user', user: local, mapped: true };
        if (this.opts.remote) {
            let remote: string | undefined;
            try {
                remote = await this.opts.remote.get(key);
            } catch (err) {
                this.opts.logger?.warn({ err, rcpt: address }, 'recipient map unavailable');
                throw reply.recipientMapUnavailable();
            }
            const user = User.safeParse(remote);
            if (remote !== undefined && user.success) return { kind: 'user', user: user.data, mapped: true };
            if (remote !== undefined) this.opts.logger?.warn({ rcpt: address }, 'recipient map entry is not a valid user name; ignored');
        }
        switch (this.opts.unknown) {
            case 'reject':
                throw noUser(`<${address}>: Recipient address rejected: User unknown`);
            case 'relay':
                return { kind: 'relay' };
            default:
                return { kind: 'user', user: formatUsername(this.opts.usernameFormat, address), mapped: false };
        }
    }

    close(): void {
        this.opts.remote?.close();
    }
}

/**
 * Memcached key for an address: lower-cased, bytes outside printable ASCII (and spaces) escaped,
 * hashed when too long for memcached's 250-byte limit, so a hostile address cannot form a
 * different command or key.
 */
export function mapKey(prefix: string, address: string): string {
    const safe = Buffer.from(address.toLowerCase(), 'utf8')
        .toString('latin1')
        .replace(/[^!-~]|%/g, c => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'));
    const key = prefix + safe;
    return key.length <= 250 ? key : prefix + 'sha256:' + createHash('sha256').update(address.toLowerCase()).digest('hex');
}

/** The memcached map: values under `<prefix><address>`, asked with a short timeout and no retries. */
export function memcachedMap(servers: ParsedServers, opts: { prefix?: string; timeoutMs?: number } = {}): MapSource {
    const timeoutMs = opts.timeoutMs ?? MEMCACHED_TIMEOUT_MS;
    const prefix = opts.prefix ?? 'vmbridge:rcpt:';
    // Servers placed the libmemcached way, as the tool that writes the map places them.
    const client = createMemcachedClient(servers, { timeoutMs, connectTimeoutMs: timeoutMs, retries: 0, keepAlive: true });
    return {
        async get(address) {
            let timer: NodeJS.Timeout | undefined;
            // memjs's own timeout does not cover every path (e.g. a connect that never completes).
            const deadline = new Promise<never>((_r, reject) => {
                timer = setTimeout(() => reject(new Error(`memcached: no answer in ${timeoutMs} ms`)), timeoutMs);
            });
            try {
                const { value } = await Promise.race([client.get(mapKey(prefix, address)), deadline]);
                return value ? value.toString('utf8').trim() : undefined;
            } finally {
                clearTimeout(timer);
            }
        },
        close: () => client.close()
    };
}
