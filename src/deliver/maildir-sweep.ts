// Removes what a crashed or disk-full run left in <dir>/<user>/tmp/: a partial file there keeps
// the disk full and is never delivered. Only files this host's vmbridge wrote (maildir-name.ts's
// `P<pid>Q<n>.<host>` form) whose process is gone, plus anything older than the Maildir spec's
// 36 hours: another writer's (Dovecot's, a second bridge's) file in progress is never touched.
import { readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { HOST } from './maildir-name.js';
import { MAILDIR_TMP_STALE_MS } from '../limits.js';

/** Sweeps every user's tmp/ under root; resolves with the number of files removed. */
export async function sweepTmp(root: string, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const user of await readdir(root).catch(() => [] as string[])) {
        const tmp = path.join(root, user, 'tmp');
        for (const name of await readdir(tmp).catch(() => [] as string[])) {
            const file = path.join(tmp, name);
            if (!(await isStale(file, name, now))) continue;
            if (
                await unlink(file).then(
                    () => true,
                    () => false
                )
            )
                removed++;
        }
    }
    return removed;
}

async function isStale(file: string, name: string, now: number): Promise<boolean> {
    const m = /^\d+\.M\d+P(\d+)Q\d+\.(.+)$/.exec(name);
    if (m && m[2] === HOST && !alive(Number(m[1]))) return true;
    const st = await stat(file).catch(() => undefined);
    return !!st && now - st.mtimeMs > MAILDIR_TMP_STALE_MS;
}

/** A process with that pid exists (our own pid counts as dead: we have written nothing yet at start). */
function alive(pid: number): boolean {
    if (pid === process.pid) return false;
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
}
