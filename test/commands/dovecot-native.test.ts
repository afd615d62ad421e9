// Which driver `vmbridge dovecot-config --driver` writes: native only when its module is built for
// the installed Dovecot 2.3 and the hook speaks the stream to a numeric address; else Lua (auto) or
// an error naming why (native).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NATIVE_MODULE, pickDriver } from '../../src/commands/dovecot-native.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vmb-native-pick-'));
const empty = mkdtempSync(path.join(tmpdir(), 'vmb-native-none-'));
writeFileSync(path.join(dir, NATIVE_MODULE), Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]), Buffer.from('2.3.ABIv19(2.3.19.1)\0')]));
afterAll(() => [dir, empty].forEach(d => rmSync(d, { recursive: true, force: true })));

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

    it('native: refuses with the reason (exit 78) when it cannot serve; a bad value is a usage error', () => {
        expect(() => pickDriver({ ...base, wanted: 'native', moduleDir: empty })).toThrow(/not installed \(make -C dovecot\/native install\)/);
        expect(() => pickDriver({ ...base, wanted: 'native', dovecotVersion: '2.3.21' })).toThrow(/built for Dovecot 2\.3\.19\.1, the installed one is 2\.3\.21/);
        expect(() => pickDriver({ ...base, wanted: 'native', form: '2.4' })).toThrow(expect.objectContaining({ code: 78 }));
        expect(() => pickDriver({ ...base, wanted: 'fast' })).toThrow(expect.objectContaining({ code: 64 }));
    });
});
