// Which driver `vmbridge dovecot-config --driver` writes: native only when its module is built for
// the installed Dovecot (2.3, or 2.4 with its settings module) and the hook speaks the stream to a
// numeric address; else Lua (auto) or an error naming why (native).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { moduleDovecotVersion, NATIVE_MODULE, NATIVE_SETTINGS_MODULE, pickDriver } from '../../src/commands/dovecot-native.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vmb-native-pick-'));
const empty = mkdtempSync(path.join(tmpdir(), 'vmb-native-none-'));
writeFileSync(path.join(dir, NATIVE_MODULE), Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]), Buffer.from('2.3.ABIv19(2.3.19.1)\0')]));
// Dovecot 2.4's ABI string names no micro version; its config process needs the settings module.
const dir24 = mkdtempSync(path.join(tmpdir(), 'vmb-native-pick24-'));
const noSettings24 = mkdtempSync(path.join(tmpdir(), 'vmb-native-pick24-'));
for (const d of [dir24, noSettings24])
    writeFileSync(path.join(d, NATIVE_MODULE), Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]), Buffer.from('GLIBC_2.4\x002.4.ABIv1\x00')]));
mkdirSync(path.join(dir24, 'settings'));
writeFileSync(path.join(dir24, NATIVE_SETTINGS_MODULE), '');
afterAll(() => [dir, empty, dir24, noSettings24].forEach(d => rmSync(d, { recursive: true, force: true })));

const base = { moduleDir: dir, form: '2.3' as const, dovecotVersion: '2.3.19.1 (9b53102964)', url: 'unix:/run/vmbridge/ingest.sock' };

describe('dovecot-config --driver', () => {
    it('auto: native when the module is built for the running Dovecot, else lua', () => {
        expect(pickDriver({ ...base, wanted: 'auto' })).toBe('native');
        expect(pickDriver({ ...base, wanted: 'auto', url: 'tcp://127.0.0.1:8025' })).toBe('native');
        expect(pickDriver({ ...base, wanted: 'auto', moduleDir: empty })).toBe('lua');
        expect(pickDriver({ ...base, wanted: 'auto', dovecotVersion: '2.3.21 (47349e2482)' })).toBe('lua');
        expect(pickDriver({ ...base, wanted: 'auto', form: '2.4' })).toBe('lua');
        expect(pickDriver({ ...base, wanted: 'auto', url: 'http://127.0.0.1:8025/events' })).toBe('lua');
        expect(pickDriver({ ...base, wanted: 'auto', url: 'tcp://localhost:8025' })).toBe('lua');
        expect(pickDriver({ ...base, wanted: 'lua' })).toBe('lua');
    });

    it('Dovecot 2.4: native when the module is built for 2.4 and its settings module is there', () => {
        const at24 = { ...base, moduleDir: dir24, form: '2.4' as const, dovecotVersion: '2.4.1-4 (7d8c0e5759)' };
        expect(moduleDovecotVersion(path.join(dir24, NATIVE_MODULE))).toBe('2.4');
        expect(pickDriver({ ...at24, wanted: 'auto' })).toBe('native');
        // --dovecot-version 2.4 on a machine whose own Dovecot is 2.3 (e.g. 2.4 in a chroot).
        expect(pickDriver({ ...at24, wanted: 'auto', dovecotVersion: base.dovecotVersion })).toBe('native');
        expect(pickDriver({ ...at24, wanted: 'auto', form: '2.3' })).toBe('lua');
        expect(pickDriver({ ...at24, wanted: 'auto', moduleDir: noSettings24 })).toBe('lua');
        expect(pickDriver({ ...at24, wanted: 'auto', dovecotVersion: '2.5.0 (1)', form: '2.4' })).toBe('lua');
        expect(() => pickDriver({ ...at24, wanted: 'native', moduleDir: noSettings24 })).toThrow(/settings\/libvmbridge_settings\.so is not installed/);
        expect(() => pickDriver({ ...base, wanted: 'native', form: '2.4' })).toThrow(/built for Dovecot 2\.3\.19\.1, not for the 2\.4 configuration/);
    });

    it('native: refuses with the reason (exit 78) when it cannot serve; a bad value is a usage error', () => {
        expect(() => pickDriver({ ...base, wanted: 'native', moduleDir: empty })).toThrow(/not installed \(make -C dovecot\/native install\)/);
        expect(() => pickDriver({ ...base, wanted: 'native', dovecotVersion: '2.3.21' })).toThrow(/built for Dovecot 2\.3\.19\.1, the installed one is 2\.3\.21/);
        expect(() => pickDriver({ ...base, wanted: 'native', form: '2.4' })).toThrow(expect.objectContaining({ code: 78 }));
        expect(() => pickDriver({ ...base, wanted: 'fast' })).toThrow(expect.objectContaining({ code: 64 }));
    });
});
