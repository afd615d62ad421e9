// One doctor check: what it looks at, and its verdict with the fix in one line. A check that the
// configuration does not call for (no --ami, no --imap) is skipped, never failed.
import net from 'node:net';
import type { Config } from '../config.js';
import type { HostPort } from '../net/address.js';

/** sysexits: 78 when our own configuration is wrong, 69 when a dependency is unavailable. */
export const EX_CONFIG = 78;
export const EX_UNAVAILABLE = 69;

export interface DoctorContext {
    config: Config;
    /** doveconf's -c argument (Dovecot's main config file). */
    dovecotConf: string;
    /** The Dovecot user the IMAP checks log in as (through the master user). */
    user?: string;
    timeoutMs: number;
}

export type Verdict = (
    { status: 'ok'; detail: string } | { status: 'skip'; detail: string } | { status: 'fail'; detail: string; fix: string; code: typeof EX_CONFIG | typeof EX_UNAVAILABLE }
) & { subject?: string };

export interface Check {
    name: string;
    run(ctx: DoctorContext): Promise<Verdict | Verdict[]>;
}

export const ok = (detail: string): Verdict => ({ status: 'ok', detail });
export const skip = (detail: string): Verdict => ({ status: 'skip', detail });
export const unavailable = (detail: string, fix: string): Verdict => ({ status: 'fail', detail, fix, code: EX_UNAVAILABLE });
export const misconfigured = (detail: string, fix: string): Verdict => ({ status: 'fail', detail, fix, code: EX_CONFIG });

/** Connects to a host and port or a unix socket's path; resolves with the socket, rejects on error or timeout. */
export function connect(address: HostPort | { path: string }, timeoutMs: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
        const sock = net.connect(address as net.NetConnectOpts);
        const timer = setTimeout(() => (sock.destroy(), reject(new Error(`no answer within ${timeoutMs} ms`))), timeoutMs);
        sock.once('connect', () => (clearTimeout(timer), resolve(sock)));
        sock.once('error', err => (clearTimeout(timer), reject(err)));
    });
}

/** Reads from `sock` until `done(text so far)` says so; rejects on close, error or timeout. */
export function readUntil(sock: net.Socket, done: (text: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
        let text = '';
        const finish = (err?: Error) => {
            clearTimeout(timer);
            sock.off('data', onData).off('error', finish).off('close', onClose);
            err ? reject(err) : resolve(text);
        };
        const onData = (d: Buffer) => {
            text += d.toString('utf8');
            if (done(text)) finish();
        };
        const onClose = () => finish(new Error(`connection closed after ${JSON.stringify(text.slice(0, 200))}`));
        const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        sock.on('data', onData).on('error', finish).on('close', onClose);
        if (done(text)) finish();
    });
}

/** The same verdict, about one of several things a check looks at. */
export const about = (subject: string, v: Verdict): Verdict => ({ ...v, subject });

/** A listen address as a client dials it: a wildcard bind is reached on loopback. */

export const message = (err: unknown) => ((err as NodeJS.ErrnoException).code ? `${(err as NodeJS.ErrnoException).code}: ` : '') + (err as Error).message;
