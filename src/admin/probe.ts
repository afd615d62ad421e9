// Dependency probes for /readyz: cheap, cached and bounded. A probe runs at most every
// HEALTH_PROBE_EVERY_MS whatever the request rate, and a request waits for a running probe at most
// HEALTH_PROBE_TIMEOUT_MS, so a wedged Dovecot makes readiness fail instead of hanging it.
import { access, constants } from 'node:fs/promises';
import { connect } from 'node:net';
import type { DeliverTarget } from '../deliver/target.js';
import { HEALTH_PROBE_EVERY_MS, HEALTH_PROBE_TIMEOUT_MS } from '../limits.js';

export interface ProbeResult {
    ok: boolean;
    problem?: string;
}

export class CachedProbe {
    private last?: ProbeResult & { at: number };
    private running?: Promise<ProbeResult>;

    constructor(private readonly run: (timeoutMs: number) => Promise<ProbeResult>, private readonly everyMs = HEALTH_PROBE_EVERY_MS, private readonly timeoutMs = HEALTH_PROBE_TIMEOUT_MS) {}

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

function lmtpGreeting(address: { host: string; port: number } | { path: string }, timeoutMs: number): Promise<ProbeResult> {
    return new Promise(resolve => {
        const sock = connect('path' in address ? { path: address.path } : { host: address.host, port: address.port });
        let buf = '';
        let settled = false;
        const done = (r: ProbeResult): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            if (r.ok) sock.end('QUIT\r\n');
            else sock.destroy();
            resolve(r);
        };
        const timer = setTimeout(() => done({ ok: false, problem: 'no greeting' }), timeoutMs);
        sock.setEncoding('latin1');
        sock.on('data', (chunk: string) => {
            buf += chunk;
            const line = /^(\d{3})[ -].*$/m.exec(buf);
            if (line) done(line[1] === '220' ? { ok: true } : { ok: false, problem: `greeting ${line[0].slice(0, 80)}` });
            else if (buf.length > 1024) done({ ok: false, problem: 'not an LMTP greeting' });
        });
        sock.on('error', err => done({ ok: false, problem: (err as NodeJS.ErrnoException).code ?? err.message }));
        sock.on('close', () => done({ ok: false, problem: 'closed before greeting' }));
    });
}
