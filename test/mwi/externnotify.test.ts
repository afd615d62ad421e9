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
    const lines = await waitFor(() => {
        try {
            return readFileSync(out, 'utf8');
        } catch {
            return '';
        }
    }, 5000, 'externnotify output');
    expect(lines.split('\n').slice(0, 5)).toEqual(['a b;$(x)', '1000', '2', '2', '1']);
});
