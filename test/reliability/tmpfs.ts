// A small tmpfs for disk-full tests (we run as root). unmount() also runs when the test failed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Tmpfs {
    dir: string;
    /** Bytes free for an unprivileged-size file right now. */
    free(): number;
    /** Fills the filesystem until about `leave` bytes are free (a file named `filler`). */
    fill(leave: number): void;
    /** Removes the filler. */
    unfill(): void;
    unmount(): void;
}

export function mountTmpfs(sizeKb: number): Tmpfs {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=755`, 'tmpfs', dir]);
    const filler = path.join(dir, 'filler');
    const free = () => {
        const s = statfsSync(dir);
        return s.bavail * s.bsize;
    };
    return {
        dir,
        free,
        fill(leave) {
            rmSync(filler, { force: true });
            writeFileSync(filler, Buffer.alloc(Math.max(0, free() - leave)));
        },
        unfill: () => rmSync(filler, { force: true }),
        unmount() {
            try {
                execFileSync('umount', ['-l', dir]);
            } finally {
                rmSync(dir, { recursive: true, force: true });
            }
        }
    };
}
