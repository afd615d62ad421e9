// externnotify runs the configured program without a shell, with app_voicemail's arguments.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { makeBox } from '../../src/mwi/boxes.js';
import { ExternNotifier } from '../../src/mwi/externnotify.js';
import { waitFor } from '../helpers/net.js';
import { captureLogger } from './log-capture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vmb-extern-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('passes context, extension, new (without urgent), old, urgent as separate arguments', async () => {
    const out = path.join(dir, 'args');
    const script = path.join(dir, 'notify.sh');
    writeFileSync(script, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > '${out}.tmp' && mv '${out}.tmp' '${out}'\n`);
    chmodSync(script, 0o755);
    const { logger } = captureLogger();
    // a context with shell metacharacters reaches the program as one plain argument
    new ExternNotifier(script, logger).observe(makeBox({ mailbox: '1000', context: 'a b;$(x)', user: 'alice' }), { new: 3, old: 2, urgent: 1 });
    const lines = await waitFor(
        () => {
            try {
                return readFileSync(out, 'utf8');
            } catch {
                return '';
            }
        },
        5000,
        'externnotify output'
    );
    expect(lines.split('\n').slice(0, 5)).toEqual(['a b;$(x)', '1000', '2', '2', '1']);
});

it('runs again when the counts it was last given are wrong: after a failed run, not after a good one', async () => {
    const runs = path.join(dir, 'runs');
    const fail = path.join(dir, 'fail-once');
    writeFileSync(fail, '');
    const script = path.join(dir, 'flaky.sh');
    // records each run; exits 1 while the fail-once file exists (and removes it)
    writeFileSync(script, `#!/bin/sh\necho "$*" >> '${runs}'\nif [ -e '${fail}' ]; then rm -f '${fail}'; exit 1; fi\n`);
    chmodSync(script, 0o755);
    const { logger, records } = captureLogger();
    const n = new ExternNotifier(script, logger);
    const box = makeBox({ mailbox: '1000', user: 'alice' });
    const read = () => {
        try {
            return readFileSync(runs, 'utf8').trim().split('\n');
        } catch {
            return [];
        }
    };
    n.observe(box, { new: 1, old: 0, urgent: 0 });
    await waitFor(() => records.some(r => /externnotify failed/.test(r.msg)), 5000, 'failed run');
    n.observe(box, { new: 1, old: 0, urgent: 0 }); // the next recount, same counts: the command did not take them
    await waitFor(() => read().length === 2, 5000, 'second run');
    await waitFor(() => !n.busy, 5000, 'run finished');
    n.observe(box, { new: 1, old: 0, urgent: 0 }); // already given: nothing
    n.observe(box, { new: 0, old: 1, urgent: 0 }); // changed: runs
    await waitFor(() => read().length === 3, 5000, 'third run');
    expect(read()).toEqual(['default 1000 1 0 0', 'default 1000 1 0 0', 'default 1000 0 1 0']);
});
