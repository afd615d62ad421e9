// Shared bits for the deliverer tests: feed a transaction, compare what Dovecot stored, freeze
// a Dovecot we started.
import { readdirSync, readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { waitFor } from '../helpers/net.js';
import { stoppedAll } from '../helpers/process.js';
import type { Deliverer, Outcome, Recipient } from '../../src/deliver/deliverer.js';

export const CRLF_MESSAGE = Buffer.from(
    'From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: crlf test\r\nMessage-ID: <crlf@test>\r\n\r\n' +
        'line one\r\n.line starting with a dot\r\n..two dots\r\n.\r\nafter a lone dot\r\n\r\n\xe9 8-bit latin1\r\n',
    'latin1'
);

export function rcpt(address: string): Recipient {
    return { address, user: address.toLowerCase() };
}

/** The message in small chunks, so dot-stuffing across chunk boundaries is exercised. */
export function stream(message: Buffer, chunk = 7): Readable {
    const parts: Buffer[] = [];
    for (let i = 0; i < message.length; i += chunk) parts.push(message.subarray(i, i + chunk));
    return Readable.from(parts, { objectMode: false });
}

export interface Sent {
    rcpt: (true | Error)[];
    outcomes: Outcome[];
}

/** One full transaction; RCPT refusals are collected, not thrown. */
export async function deliver(d: Deliverer, from: string, to: string[], message: Buffer): Promise<Sent> {
    const txn = await d.begin({ from, sessionId: 'test' });
    const results: (true | Error)[] = [];
    for (const a of to)
        results.push(
            await txn.addRecipient(rcpt(a)).then(
                () => true as const,
                (e: Error) => e
            )
        );
    const outcomes = await txn.data(stream(message));
    return { rcpt: results, outcomes };
}

const TRACE = /^(Return-Path|Delivered-To|Received):/i;

/** What Dovecot stored minus its own trace headers at the top (Return-Path, Delivered-To, Received). */
export function withoutTrace(stored: Buffer): Buffer {
    const text = stored.toString('latin1');
    let pos = 0;
    for (;;) {
        const eol = text.indexOf('\n', pos);
        if (eol < 0 || !TRACE.test(text.slice(pos, eol))) break;
        pos = eol + 1;
        while (text[pos] === ' ' || text[pos] === '\t') pos = text.indexOf('\n', pos) + 1; // folded lines
    }
    return stored.subarray(pos);
}

/** The process and all its descendants (Dovecot's master and its services), with command lines. */
export function processTree(root: number): { pid: number; cmd: string }[] {
    const children = new Map<number, { pid: number; cmd: string }[]>();
    for (const e of readdirSync('/proc')) {
        if (!/^\d+$/.test(e)) continue;
        try {
            const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
            const cmd = readFileSync(`/proc/${e}/cmdline`, 'latin1');
            const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
            children.set(ppid, [...(children.get(ppid) ?? []), { pid: Number(e), cmd }]);
        } catch {
            // the process ended meanwhile
        }
    }
    const out: { pid: number; cmd: string }[] = [];
    const walk = (p: { pid: number; cmd: string }) => {
        out.push(p);
        for (const c of children.get(p.pid) ?? []) walk(c);
    };
    walk({ pid: root, cmd: '' });
    return out;
}

/** SIGSTOPs a Dovecot (master and services); the returned function SIGCONTs the same processes. */
export async function freeze(pid: number): Promise<() => void> {
    const signal = (sig: NodeJS.Signals) => {
        for (const p of pids) {
            try {
                process.kill(p, sig);
            } catch {
                // a short-lived helper process ended meanwhile
            }
        }
    };
    const pids = processTree(pid).map(p => p.pid);
    signal('SIGSTOP');
    await stoppedAll(pids);
    return () => signal('SIGCONT');
}

/** Starts a one-recipient DATA, aborts it after the first bytes went downstream, returns the outcomes. */
export async function abortMidData(d: Deliverer, to: string): Promise<Outcome[]> {
    const txn = await d.begin({ from: 'alice@example.org', sessionId: 'abort' });
    await txn.addRecipient(rcpt(to));
    const body = new PassThrough();
    const pending = txn.data(body);
    body.write(CRLF_MESSAGE.subarray(0, 40));
    await waitFor(() => body.readableFlowing === true && body.readableLength === 0, 5000, 'DATA streaming');
    txn.abort();
    body.end(CRLF_MESSAGE.subarray(40));
    return pending;
}

export const AFTER_ABORT = Buffer.from('Subject: after abort\r\n\r\nok\r\n');
