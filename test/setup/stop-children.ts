// Runs after each test file's own teardown (setup files' hooks run last): whatever the file
// started and did not stop — because a test or a hook failed before its clean-up — is stopped here,
// so one failure never leaves a Dovecot, memcached or `serve` running into the next file.
import { afterAll, expect } from 'vitest';
import { descendants, report, stopLeftovers } from './procs.js';
import { removeStateDirs } from '../helpers/net.js';

afterAll(async () => {
    // Tooling may run helpers of its own below the worker; only what the tests started counts.
    const mine = descendants(process.pid).filter(p => !p.cmdline.includes('node_modules'));
    report(`after ${expect.getState().testPath ?? 'a test file'}`, await stopLeftovers(mine));
    removeStateDirs(); // the file's bridges are stopped: their state directories can go
}, 15_000);
