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

/** A 2.4 Dovecot in the root with the hook fragment for these extra dovecot-config args, for one describe. */
function hookedRoot(extraArgs: () => Promise<string[]>) {
    const t = {
        root: '',
        frag: undefined as unknown as HookFragment,
        dovecot: undefined as unknown as TestDovecot24,
        doveconf: (...args: string[]) => spawnSync('chroot', [t.root, 'doveconf', '-c', t.dovecot.inside(t.dovecot.conf), ...args], { encoding: 'utf8' })
    };
    beforeAll(async () => {
        t.root = await trixieRoot();
        t.frag = await hookFragmentFor('2.4', ['--ingest', '127.0.0.1:8125', '--ingest-token', TOKEN, ...(await extraArgs())]);
        t.dovecot = new TestDovecot24({ extraConfig: t.frag.fragment });
        await t.dovecot.start();
    }, ROOT_BUILD_TIMEOUT);
    afterAll(async () => {
        await t.dovecot?.destroy();
        t.frag?.cleanup();
    });
    return t;
}

describe('dovecot-config for Dovecot 2.4', () => {
    const t = hookedRoot(async () => []);
    const doveconf = t.doveconf;

    it('the root really holds Dovecot 2.4 with Lua 5.4 modules for lua-socket and luaossl', () => {
        expect(execFileSync('chroot', [t.root, 'dovecot', '--version'], { encoding: 'utf8' })).toMatch(/^2\.4\./);
        const lua = spawnSync('chroot', [t.root, 'sh', '-c', 'ls /usr/lib/*/lua/5.4/socket/core.so /usr/lib/*/lua/5.4/_openssl.so'], { encoding: 'utf8' });
        expect(lua.status, lua.stderr).toBe(0);
    });

    it('writes the 2.4 form, which 2.4 doveconf accepts and prints back', () => {
        expect(t.frag.fragment).toMatch(/mail_plugins \{\n\s+notify = yes\n\s+push_notification = yes\n\s+mail_lua = yes\n\s+push_notification_lua = yes/);
        expect(t.frag.fragment).toMatch(/push_notification lua \{\n\s+lua_file = \/srv\/vmb-hook-\w+\/vmbridge\.lua/);
        expect(t.frag.fragment).not.toMatch(/^plugin \{|\$mail_plugins/m);
        const r = doveconf('-n');
        expect(r.status, r.stderr).toBe(0);
        // A bare root has no /etc/mtab (no /proc mounted): doveconf says so, harmlessly.
        const complaints = r.stderr.split('\n').filter(l => l && !l.includes('setmntent(/etc/mtab)'));
        expect(complaints).toEqual([]);
        expect(r.stdout).toContain('vmbridge_url = tcp://127.0.0.1:8125');
        expect(r.stdout).toMatch(/protocol lmtp \{\n\s+mail_plugins \{[^}]*push_notification_lua = yes/);
    });

    it('the key is in a 0640 include, reaches lua_settings, and doveconf -n hides it', () => {
        expect(t.frag.fragment).not.toContain(TOKEN);
        expect(statSync(t.frag.keyFile).mode & 0o777).toBe(0o640);
        expect(readFileSync(t.frag.keyFile, 'utf8')).toMatch(/push_notification lua \{\n\s+lua_settings \{\n\s+vmbridge_key = /);
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
            const conf = path.join(t.dovecot.dir, 'old.conf');
            writeFileSync(conf, readFileSync(t.dovecot.conf, 'utf8').replace(t.frag.fragment, old.fragment.replace(/^!include_try.*$/m, '')));
            const r = spawnSync('chroot', [t.root, 'doveconf', '-c', t.dovecot.inside(conf), '-n'], { encoding: 'utf8' });
            expect(r.status).not.toBe(0);
        } finally {
            old.cleanup();
        }
    });
});

describe('dovecot-config for Dovecot 2.4, native driver', () => {
    const t = hookedRoot(() => driverArgsFor('2.4', 'native'));
    const doveconf = t.doveconf;

    it("2.4's doveconf knows the driver's settings (libvmbridge_settings.so) and hides its key; the doctor reads them", () => {
        expect(t.frag.fragment).toMatch(/mail_plugins \{\n\s+notify = yes\n\s+push_notification = yes\n\s+push_notification_vmbridge = yes/);
        expect(t.frag.fragment).not.toContain(TOKEN);
        expect(readFileSync(t.frag.keyFile, 'utf8')).toMatch(/push_notification vmbridge \{\n\s+push_notification_vmbridge_key = /);
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
