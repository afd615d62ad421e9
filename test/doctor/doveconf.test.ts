// The doctor's reading of Dovecot 2.3's `doveconf -P` (real Dovecot; 2.4's: events/dovecot24.test.ts).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorContext } from '../../src/doctor/check.js';
import { dovecotHook } from '../../src/doctor/dovecot-hook.js';
import { hookSettings } from '../../src/doctor/doveconf.js';
import { luaModules } from '../../src/doctor/lua-modules.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { hookFragment, type HookFragment } from '../helpers/hook-fragment.js';
import { driverArgs, nativeModuleDir } from '../helpers/native-driver.js';

const TOKEN = 'doveconf-test-token-0123456789abcdef';

describe('doctor: doveconf -P of Dovecot 2.3', () => {
    let dovecot: TestDovecot;
    let frag: HookFragment;

    beforeAll(async () => {
        frag = hookFragment(['--dovecot-version', '2.3', '--ingest', '127.0.0.1:8125', '--ingest-token', TOKEN, '--driver', 'lua']);
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

describe('doctor: the native driver (dovecot/native) in Dovecot 2.3', () => {
    let dovecot: TestDovecot;
    let frag: HookFragment;

    beforeAll(async () => {
        frag = hookFragment(['--ingest', '127.0.0.1:8125', '--ingest-token', TOKEN, ...driverArgs('native')]);
        dovecot = await startDovecot({ extraConfig: frag.fragment });
    });

    afterAll(async () => {
        await dovecot?.destroy();
        frag?.cleanup();
    });

    it('finds the driver, its module and key; dovecot-hook is ok, lua-modules has nothing to check', async () => {
        const hook = hookSettings(execFileSync('doveconf', ['-c', dovecot.conf, '-P'], { encoding: 'utf8' }));
        expect(hook).toMatchObject({ key: TOKEN, native: { url: 'tcp://127.0.0.1:8125', plugin: true, moduleDir: nativeModuleDir() } });
        const ctx = { dovecotConf: dovecot.conf } as DoctorContext;
        expect(await dovecotHook.run(ctx)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^native driver/) });
        expect(await luaModules.run(ctx)).toMatchObject({ status: 'skip' });
    });
});
