// The doctor's reading of Dovecot 2.3's `doveconf -P` (real Dovecot; 2.4's: events/dovecot24.test.ts).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookSettings } from '../../src/doctor/doveconf.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { hookFragment, type HookFragment } from '../helpers/hook-fragment.js';

const TOKEN = 'doveconf-test-token-0123456789abcdef';

describe('doctor: doveconf -P of Dovecot 2.3', () => {
    let dovecot: TestDovecot;
    let frag: HookFragment;

    beforeAll(async () => {
        frag = hookFragment(['--dovecot-version', '2.3', '--ingest', '127.0.0.1:8125', '--ingest-token', TOKEN]);
        dovecot = await startDovecot({ extraConfig: frag.fragment });
    });

    afterAll(async () => {
        await dovecot?.destroy();
        frag?.cleanup();
    });

    it('finds the driver, script, url, key and plugin; none without the fragment', () => {
        const hook = hookSettings(execFileSync('doveconf', ['-c', dovecot.conf, '-P'], { encoding: 'utf8' }));
        expect(hook).toMatchObject({ form: '2.3', url: 'tcp://127.0.0.1:8125', key: TOKEN, plugin: true });
        expect(hook.script).toMatch(/\/dovecot\/vmbridge\.lua$/);
        expect(hookSettings('protocols = imap lmtp\n')).toEqual({ form: undefined, script: undefined, url: undefined, key: undefined, plugin: false });
    });
});
