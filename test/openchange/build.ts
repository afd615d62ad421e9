// Compiles the C programs of this folder (Debian's libmemcached-dev, libnanomsg-dev, gcc) into a
// temporary directory, once per test file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const HERE = path.dirname(new URL(import.meta.url).pathname);

export interface Built {
    placement: string;
    session: string;
    cleanup: () => void;
}

export function buildC(): Built {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmb-oc-c-'));
    const cc = (src: string, out: string, libs: string[]) =>
        execFileSync('gcc', ['-O1', '-Wall', '-Werror', '-o', path.join(dir, out), path.join(HERE, src), ...libs], { stdio: 'inherit' });
    cc('placement.c', 'placement', ['-lmemcached']);
    cc('session.c', 'session', ['-lmemcached', '-lnanomsg']);
    return { placement: path.join(dir, 'placement'), session: path.join(dir, 'session'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
