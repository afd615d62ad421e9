// Fault-injection helpers shared by the reliability tests: freeze a process tree (SIGSTOP) and
// always thaw it, wait for bytes to sit unread in a socket, and compare stored copies.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { stoppedAll } from '../helpers/process.js';

/** The pid and all descendants (Dovecot's master and its lmtp/imap/auth children). */
export function processTree(pid: number): number[] {
    let kids: number[] = [];
    try {
        kids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
            .split('\n')
            .filter(Boolean)
            .map(Number);
    } catch {
        // pgrep exits 1 when there are none
    }
    return [pid, ...kids.flatMap(processTree)];
}

/** Runs fn with the whole tree stopped; SIGCONT in finally, whatever happens. */
export async function frozen<T>(pid: number, fn: () => Promise<T>): Promise<T> {
    const tree = processTree(pid);
    for (const p of tree) process.kill(p, 'SIGSTOP');
    try {
        await stoppedAll(tree);
        return await fn();
    } finally {
        for (const p of tree) {
            try {
                process.kill(p, 'SIGCONT');
            } catch {
                // already gone
            }
        }
    }
}

/** Bytes queued unread on the server side of established connections to a local port. */
export function unreadBytes(port: number): number {
    const out = execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
    return out
        .split('\n')
        .filter(Boolean)
        .reduce((n, l) => n + Number(l.trim().split(/\s+/)[0] || 0), 0);
}

export function uniqueMessage(extra = ''): { id: string; bytes: Buffer } {
    const id = `<${randomUUID()}@reliability.test>`;
    const body = `From: mta@example.org\r\nTo: alice@example.org\r\nMessage-ID: ${id}\r\nSubject: fault test\r\n\r\n${extra}${'line of text\r\n'.repeat(2000)}.leading dot\r\nend\r\n`;
    return { id, bytes: Buffer.from(body) };
}

/** Copies of `sent` among stored messages (Dovecot prepends its trace headers). */
export function copiesOf(stored: Buffer[], sent: Buffer, id: string): { exact: number; other: number } {
    const mine = stored.filter(s => s.includes(id));
    const exact = mine.filter(s => s.length >= sent.length && s.subarray(s.length - sent.length).equals(sent)).length;
    return { exact, other: mine.length - exact };
}
