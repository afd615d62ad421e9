// The log is written in batches (src/log.ts): no line may be lost or held for good. A child
// process (the compiled logger, as serve runs it) logs and stays up: its info lines arrive while
// it runs (the periodic flush), a warning arrives with nothing after it, and everything buffered
// at exit is written.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startProcess, type Started } from '../helpers/process.js';
import { waitFor } from '../helpers/net.js';

const LOG = path.resolve(import.meta.dirname, '../../dist/log.js');
let child: Started | undefined;
afterEach(async () => {
    await child?.stop('SIGKILL');
    child = undefined;
});

/** A child that logs what its script says (and stays up when the script keeps it up). */
function run(script: string): Started {
    const code = `import { createLogger } from ${JSON.stringify(LOG)}; const log = createLogger('info'); ${script}`;
    return startProcess(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
}
const lines = (s: Started, msg: string) =>
    s
        .output()
        .split('\n')
        .filter(l => l.includes(`"msg":"${msg}"`)).length;

describe('batched log writes', () => {
    it('a few info lines, then silence: they are written while the process keeps running', async () => {
        child = run(`for (let i = 0; i < 3; i++) log.info({ i }, 'stored'); setInterval(() => {}, 1000);`);
        await waitFor(() => lines(child!, 'stored') === 3, 10_000, 'three info lines');
    });

    it('a warning after info lines: written with them, nothing logged after it', async () => {
        child = run(`log.info('before'); log.warn('trouble'); setInterval(() => {}, 1000);`);
        await waitFor(() => lines(child!, 'trouble') === 1, 10_000, 'the warning');
        expect(lines(child, 'before')).toBe(1);
    });

    it('10,000 lines and an immediate exit: every line is written', async () => {
        const code = `import { createLogger } from ${JSON.stringify(LOG)}; const log = createLogger('info'); for (let i = 0; i < 10000; i++) log.info({ i }, 'stored'); process.exit(0);`;
        const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000 });
        expect(r.status).toBe(0);
        expect(r.stderr.split('\n').filter(l => l.includes('"msg":"stored"'))).toHaveLength(10_000);
    });
});
