// Secrets on disk (issue 17 item 6): `vmbridge dovecot-config` never prints the token, even under
// umask 022; the Dovecot include holding the hook's key is 0640 root:dovecot and `doveconf -n`
// hides it; the token file is 0600 whatever existed before (a too-short token in a 0644 file is
// regenerated and chmod'ed, a good one in a 0644 file chmod'ed).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from './child-bridge.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vmb-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** dovecot-config as an administrator runs it: a shell with umask 022, output to stdout. */
function dovecotConfig(tokenFile: string, keyFile: string): string {
    ensureBuilt();
    const cmd = `umask 022; exec "$0" "$1" dovecot-config --ingest-token-file "$2" --dovecot-key-file "$3"`;
    return execFileSync('/bin/sh', ['-c', cmd, process.execPath, path.join(ROOT, 'bin/vmbridge.js'), tokenFile, keyFile], { encoding: 'utf8' });
}
const mode = (f: string) => statSync(f).mode & 0o777;
const dovecotGid = () =>
    Number(
        readFileSync('/etc/group', 'utf8')
            .split('\n')
            .find(l => l.startsWith('dovecot:'))
            ?.split(':')[2]
    );

describe('secrets on disk', () => {
    it('creates a 0600 token file and a 0640 root:dovecot key include; the fragment never holds the token', () => {
        const tokenFile = path.join(dir, 'a', 'ingest.token');
        const keyFile = path.join(dir, 'a', 'key.conf');
        const fragment = dovecotConfig(tokenFile, keyFile);
        const token = readFileSync(tokenFile, 'utf8').trim();
        expect(token.length).toBeGreaterThanOrEqual(32);
        expect(mode(tokenFile)).toBe(0o600);
        expect(fragment).not.toContain(token);
        expect(fragment).toContain(`!include_try ${keyFile}`);
        expect(mode(keyFile)).toBe(0o640);
        expect(statSync(keyFile).uid).toBe(0);
        expect(statSync(keyFile).gid).toBe(dovecotGid());
        expect(readFileSync(keyFile, 'utf8')).toContain(`vmbridge_key = ${token}`);

        // What people paste into support requests.
        const conf = path.join(dir, 'a', 'dovecot.conf');
        writeFileSync(conf, `protocols = imap\n${fragment}`);
        const shown = execFileSync('doveconf', ['-n', '-c', conf], { encoding: 'utf8' });
        expect(shown).not.toContain(token);
        expect(shown).toMatch(/vmbridge_key = # hidden/);
    });

    it('regenerates a too-short token in a 0644 file, and leaves it 0600', () => {
        const tokenFile = path.join(dir, 'short.token');
        writeFileSync(tokenFile, 'short\n');
        chmodSync(tokenFile, 0o644);
        dovecotConfig(tokenFile, path.join(dir, 'short-key.conf'));
        expect(readFileSync(tokenFile, 'utf8').trim().length).toBeGreaterThanOrEqual(32);
        expect(mode(tokenFile)).toBe(0o600);
    });

    it('keeps a good token from a 0644 file but makes the file 0600; rewrites a 0644 key include as 0640', () => {
        const tokenFile = path.join(dir, 'good.token');
        const keyFile = path.join(dir, 'good-key.conf');
        const token = 'a-good-token-of-more-than-32-characters-0123';
        writeFileSync(tokenFile, token + '\n');
        chmodSync(tokenFile, 0o644);
        writeFileSync(keyFile, 'plugin {\n  vmbridge_key = old\n}\n');
        chmodSync(keyFile, 0o644);
        dovecotConfig(tokenFile, keyFile);
        expect(readFileSync(tokenFile, 'utf8').trim()).toBe(token);
        expect(mode(tokenFile)).toBe(0o600);
        expect(mode(keyFile)).toBe(0o640);
        expect(readFileSync(keyFile, 'utf8')).toContain(token);
    });
});
