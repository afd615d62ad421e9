// `vmbridge dovecot-config` against Dovecot 2.4.1 (the trixie root of helpers/dovecot24.ts): its
// 2.4 form is what 2.4's doveconf accepts, the hook's key reaches the script yet doveconf -n hides
// it, and the form follows `dovecot --version`. The events themselves: dovecot-events.test.ts,
// which runs on both versions.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookFragmentFor, ROOT_BUILD_TIMEOUT, TestDovecot24, trixieRoot } from '../helpers/dovecot24.js';
import { type HookFragment } from '../helpers/hook-fragment.js';
import { hookSettings } from '../../src/doctor/doveconf.js';
import { driverArgsFor } from '../helpers/native-driver.js';

const ROOT = path.resolve(__dirname, '../..');
const TOKEN = 'dovecot24-test-token-0123456789abcdef';

describe('dovecot-config for Dovecot 2.4', () => {
    let root = '';
    let frag: HookFragment;
    let dovecot: TestDovecot24;
    const doveconf = (...args: string[]) => spawnSync('chroot', [root, 'doveconf', '-c', dovecot.inside(dovecot.conf), ...args], { encoding: 'utf8' });

    beforeAll(async () => {
        root = await trixieRoot();
        frag = await hookFragmentFor('2.4', ['--ingest', '127.0.0.1:8125', '--ingest-token', TOKEN]);
        dovecot = new TestDovecot24({ extraConfig: frag.fragment });
        await dovecot.start();
    }, ROOT_BUILD_TIMEOUT);

    afterAll(async () => {
        await dovecot?.destroy();
        frag?.cleanup();
    });

    it('the root really holds Dovecot 2.4 with Lua 5.4 modules for lua-socket and luaossl', () => {
        expect(execFileSync('chroot', [root, 'dovecot', '--version'], { encoding: 'utf8' })).toMatch(/^2\.4\./);
        const lua = spawnSync('chroot', [root, 'sh', '-c', 'ls /usr/lib/*/lua/5.4/socket/core.so /usr/lib/*/lua/5.4/_openssl.so'], { encoding: 'utf8' });
        expect(lua.status, lua.stderr).toBe(0);
    });

    it('writes the 2.4 form, which 2.4 doveconf accepts and prints back', () => {
        expect(frag.fragment).toMatch(/mail_plugins \{\n\s+notify = yes\n\s+push_notification = yes\n\s+mail_lua = yes\n\s+push_notification_lua = yes/);
        expect(frag.fragment).toMatch(/push_notification lua \{\n\s+lua_file = \/srv\/vmb-hook-\w+\/vmbridge\.lua/);
        expect(frag.fragment).not.toMatch(/^plugin \{|\$mail_plugins/m);
        const r = doveconf('-n');
        expect(r.status, r.stderr).toBe(0);
        // A bare root has no /etc/mtab (no /proc mounted): doveconf says so, harmlessly.
        const complaints = r.stderr.split('\n').filter(l => l && !l.includes('setmntent(/etc/mtab)'));
        expect(complaints).toEqual([]);
        expect(r.stdout).toContain('vmbridge_url = tcp://127.0.0.1:8125');
        expect(r.stdout).toMatch(/protocol lmtp \{\n\s+mail_plugins \{[^}]*push_notification_lua = yes/);
    });

    it('the key is in a 0640 include, reaches lua_settings, and doveconf -n hides it', () => {
        expect(frag.fragment).not.toContain(TOKEN);
        expect(statSync(frag.keyFile).mode & 0o777).toBe(0o640);
        expect(readFileSync(frag.keyFile, 'utf8')).toMatch(/push_notification lua \{\n\s+lua_settings \{\n\s+vmbridge_key = /);
        const shown = doveconf('-n');
        expect(shown.stdout).not.toContain(TOKEN);
        expect(shown.stdout).toMatch(/vmbridge_key = # hidden/);
        // -P prints secrets: the key is set where the script's script_init() gets it.
        expect(doveconf('-P', 'push_notification/lua/lua_settings').stdout + doveconf('-P').stdout).toContain(`vmbridge_key = ${TOKEN}`);
    });

    it("vmbridge doctor reads the hook, url and key out of 2.4's doveconf -P", () => {
        const hook = hookSettings(doveconf('-P').stdout);
        expect(hook).toMatchObject({ form: '2.4', url: 'tcp://127.0.0.1:8125', key: TOKEN, plugin: true });
        expect(hook.script).toMatch(/^\/srv\/vmb-hook-\w+\/vmbridge\.lua$/);
    });

    it('the 2.3 form is refused by 2.4 (so the version matters)', async () => {
        const old = await hookFragmentFor('2.3', ['--ingest', '127.0.0.1:8125', '--ingest-token', TOKEN]);
        try {
            const conf = path.join(dovecot.dir, 'old.conf');
            writeFileSync(conf, readFileSync(dovecot.conf, 'utf8').replace(frag.fragment, old.fragment.replace(/^!include_try.*$/m, '')));
            const r = spawnSync('chroot', [root, 'doveconf', '-c', dovecot.inside(conf), '-n'], { encoding: 'utf8' });
            expect(r.status).not.toBe(0);
        } finally {
            old.cleanup();
        }
    });
});

describe('dovecot-config for Dovecot 2.4, native driver', () => {
    let root = '';
    let frag: HookFragment;
    let dovecot: TestDovecot24;
    const doveconf = (...args: string[]) => spawnSync('chroot', [root, 'doveconf', '-c', dovecot.inside(dovecot.conf), ...args], { encoding: 'utf8' });

    beforeAll(async () => {
        root = await trixieRoot();
        frag = await hookFragmentFor('2.4', ['--ingest', '127.0.0.1:8125', '--ingest-token', TOKEN, ...(await driverArgsFor('2.4', 'native'))]);
        dovecot = new TestDovecot24({ extraConfig: frag.fragment });
        await dovecot.start();
    }, ROOT_BUILD_TIMEOUT);

    afterAll(async () => {
        await dovecot?.destroy();
        frag?.cleanup();
    });

    it("2.4's doveconf knows the driver's settings (libvmbridge_settings.so) and hides its key; the doctor reads them", () => {
        expect(frag.fragment).toMatch(/mail_plugins \{\n\s+notify = yes\n\s+push_notification = yes\n\s+push_notification_vmbridge = yes/);
        expect(frag.fragment).not.toContain(TOKEN);
        expect(readFileSync(frag.keyFile, 'utf8')).toMatch(/push_notification vmbridge \{\n\s+push_notification_vmbridge_key = /);
        const r = doveconf('-n');
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr.split('\n').filter(l => l && !l.includes('setmntent(/etc/mtab)'))).toEqual([]);
        // Printed shortened inside the block.
        expect(r.stdout).toMatch(/push_notification vmbridge \{\n\s+key = # hidden[^}]*url = tcp:\/\/127\.0\.0\.1:8125\n/);
        expect(r.stdout).not.toContain(TOKEN);
        const hook = hookSettings(doveconf('-P').stdout);
        expect(hook).toMatchObject({ key: TOKEN, native: { url: 'tcp://127.0.0.1:8125', plugin: true } });
    });
});

describe('TestDovecot24', () => {
    it(
        'a config 2.4 refuses fails start() at once and leaves no master running',
        async () => {
            const d = new TestDovecot24({ extraConfig: 'no_such_setting = 1\n' });
            try {
                await expect(d.start()).rejects.toThrow(/did not start[\s\S]*no_such_setting/);
                expect(d.pid).toBeUndefined();
            } finally {
                await d.destroy();
            }
        },
        ROOT_BUILD_TIMEOUT
    );
});

describe('dovecot-config picks the form from `dovecot --version`', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-dcver-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const configFor = (version: string) => {
        writeFileSync(path.join(dir, 'dovecot'), `#!/bin/sh\necho '${version}'\n`);
        chmodSync(path.join(dir, 'dovecot'), 0o755);
        return execFileSync(process.execPath, [path.join(ROOT, 'bin/vmbridge.js'), 'dovecot-config', '--ingest-token', TOKEN, '--dovecot-key-file', path.join(dir, 'key.conf')], {
            encoding: 'utf8',
            env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }
        });
    };

    it.each([
        ['2.4.1-4 (7d8c0e5759)', /push_notification lua \{/],
        ['2.4.3 (abc)', /push_notification lua \{/],
        ['2.3.19.1 (9b53102964)', /push_notification_driver = lua:file=/]
    ])('%s', (version, form) => {
        expect(configFor(version)).toMatch(form);
        expect(readFileSync(path.join(dir, 'key.conf'), 'utf8')).toMatch(version.startsWith('2.4') ? /lua_settings/ : /^plugin \{/m);
    });

    it('--dovecot-version overrides the installed version', () => {
        writeFileSync(path.join(dir, 'dovecot'), "#!/bin/sh\necho '2.3.19.1'\n");
        const out = execFileSync(
            process.execPath,
            [path.join(ROOT, 'bin/vmbridge.js'), 'dovecot-config', '--dovecot-version', '2.4', '--ingest-token', TOKEN, '--dovecot-key-file', path.join(dir, 'key.conf')],
            {
                encoding: 'utf8',
                env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }
            }
        );
        expect(out).toMatch(/lua_settings \{/);
    });
});
