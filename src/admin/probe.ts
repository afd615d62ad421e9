// Dependency probes for /readyz: cheap, cached and bounded. A probe runs at most every
// HEALTH_PROBE_EVERY_MS whatever the request rate, and a request waits for a running probe at most
// HEALTH_PROBE_TIMEOUT_MS, so a wedged Dovecot makes readiness fail instead of hanging it.
import { access, constants } from 'node:fs/promises';
import { connect } from 'node:net';
import type { DeliverTarget } from '../deliver/target.js';
import { HEALTH_PROBE_EVERY_MS, HEALTH_PROBE_TIMEOUT_MS, PROBE_GREETING_MAX_BYTES } from '../limits.js';

export interface ProbeResult {
    ok: boolean;
    problem?: string;
}

export class CachedProbe {
    private last?: ProbeResult & { at: number };
    private running?: Promise<ProbeResult>;

    constructor(
        private readonly run: (timeoutMs: number) => Promise<ProbeResult>,
        private readonly everyMs = HEALTH_PROBE_EVERY_MS,
        private readonly timeoutMs = HEALTH_PROBE_TIMEOUT_MS
    ) {}

    async get(): Promise<ProbeResult> {
        if (this.last && Date.now() - this.last.at < this.everyMs) return this.last;
        this.running ??= this.run(this.timeoutMs)
            .catch((err: Error): ProbeResult => ({ ok: false, problem: err.message }))
            .then(r => {
                this.last = { ...r, at: Date.now() };
                this.running = undefined;
                return r;
            });
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<ProbeResult>(resolve => (timer = setTimeout(() => resolve({ ok: false, problem: 'probe timed out' }), this.timeoutMs)));
        try {
            return await Promise.race([this.running, bound]);
        } finally {
            clearTimeout(timer);
        }
    }
}

/** Is the deliver target usable: LMTP greets with 220; dovecot-lda is executable; the Maildir root writable. */
export function probeDeliverTarget(target: DeliverTarget): (timeoutMs: number) => Promise<ProbeResult> {
    switch (target.kind) {
        case 'lmtp':
            return timeoutMs => lmtpGreeting(target.address, timeoutMs);
        case 'lda':
            return () => accessible(target.path, constants.X_OK, 'not executable');
        case 'maildir':
            return () => accessible(target.dir, constants.W_OK, 'not writable');
    }
}

async function accessible(path: string, mode: number, what: string): Promise<ProbeResult> {
    try {
        await access(path, mode);
        return { ok: true };
    } catch (err) {
        return { ok: false, problem: `${path} ${what} (${(err as NodeJS.ErrnoException).code})` };
    }
}

/** memcached servers, each asked `version`; the result lists them (ok when all answer). */
export function probeMemcached(
    servers: { host: string; port: number }[]
): (timeoutMs: number) => Promise<ProbeResult & { servers: { server: string; ok: boolean; version?: string; problem?: string }[] }> {
    return async timeoutMs => {
        const each = await Promise.all(
            servers.map(async s => {
                const r = await lineProbe(s, 'version\r\n', /^(VERSION (\S+)|ERROR.*)$/m, timeoutMs);
                const version = r.match?.[2];
                return { server: `${s.host}:${s.port}`, ok: !!version, ...(version ? { version } : { problem: r.problem ?? 'unexpected answer' }) };
            })
        );
        return { ok: each.every(s => s.ok), servers: each };
    };
}

async function lmtpGreeting(address: { host: string; port: number } | { path: string }, timeoutMs: number): Promise<ProbeResult> {
    const r = await lineProbe(address, undefined, /^(\d{3})[ -].*$/m, timeoutMs);
    if (!r.match) return { ok: false, problem: r.problem };
    return r.match[1] === '220' ? { ok: true } : { ok: false, problem: `greeting ${r.match[0].slice(0, 80)}` };
}

/** Connects, optionally sends `send`, and resolves with the first line matching `line` (or the problem). */
function lineProbe(
    address: { host: string; port: number } | { path: string },
    send: string | undefined,
    line: RegExp,
    timeoutMs: number
): Promise<{ match?: RegExpExecArray; problem?: string }> {
    return new Promise(resolve => {
        const sock = connect('path' in address ? { path: address.path } : { host: address.host, port: address.port });
        let buf = '';
        let settled = false;
        const done = (r: { match?: RegExpExecArray; problem?: string }): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            if (r.match)
                sock.end('quit\r\n'); // LMTP and memcached both take it
            else sock.destroy();
            resolve(r);
        };
        const timer = setTimeout(() => done({ problem: 'no answer' }), timeoutMs);
        sock.setEncoding('latin1');
        if (send) sock.write(send);
        sock.on('data', (chunk: string) => {
            buf += chunk;
            const match = line.exec(buf);
            if (match) done({ match });
            else if (buf.length > PROBE_GREETING_MAX_BYTES) done({ problem: 'unexpected answer' });
        });
        sock.on('error', err => done({ problem: (err as NodeJS.ErrnoException).code ?? err.message }));
        sock.on('close', () => done({ problem: 'closed before answering' }));
    });
}
