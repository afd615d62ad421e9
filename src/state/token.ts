// The ingest token: --ingest-token, or one generated once into --ingest-token-file (mode 0600,
// whatever mode an existing file had) that serve and dovecot-config both read, so the Dovecot
// side and the bridge always agree. Dovecot gets it as the `vmbridge_key` plugin setting from a
// separate file (0640 root:dovecot) that the dovecot-config fragment names with !include_try:
// the fragment itself never holds it, and `doveconf -n` hides *_key settings.
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';

const MIN_LENGTH = 32;

export function loadOrCreateToken(config: Pick<Config, 'ingestToken' | 'ingestTokenFile'>): string {
    if (config.ingestToken) return config.ingestToken;
    const file = config.ingestTokenFile;
    try {
        const existing = readFileSync(file, 'utf8').trim();
        if (existing.length >= MIN_LENGTH) {
            if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600); // an old 0644 file
            return existing;
        }
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const token = randomBytes(24).toString('base64url'); // 32 characters
    writeSecret(file, token + '\n', 0o600);
    ownLikeDirectory(file);
    return token;
}

/** Path of the Dovecot include holding `vmbridge_key`: --dovecot-key-file, else next to the token file. */
export function dovecotKeyFile(config: Pick<Config, 'ingestTokenFile'> & { dovecotKeyFile?: string }): string {
    return path.resolve(config.dovecotKeyFile ?? path.join(path.dirname(config.ingestTokenFile), 'dovecot-ingest-key.conf'));
}

/** Writes the Dovecot include (0640, group dovecot when it exists): read by Dovecot's config process. */
export function writeDovecotKeyFile(file: string, token: string, dovecot: '2.3' | '2.4' = '2.3', driver: 'lua' | 'native' = 'lua'): void {
    if (/[\s"\\{}#]/.test(token)) throw new Error('ingest token: only characters without spaces, quotes, braces or # can go into a Dovecot setting');
    // 2.4 has no plugin { } block: the key joins the Lua driver's lua_settings (script_init's table).
    // The native driver on 2.4 reads its own setting (dovecot/native/push-notification-vmbridge-settings.c).
    const setting =
        dovecot === '2.3'
            ? `plugin {\n  vmbridge_key = ${token}\n}\n`
            : driver === 'native'
              ? `push_notification vmbridge {\n  push_notification_vmbridge_key = ${token}\n}\n`
              : `push_notification lua {\n  lua_settings {\n    vmbridge_key = ${token}\n  }\n}\n`;
    writeSecret(file, `# vmbridge ingest key, written by \`vmbridge dovecot-config\`; keep it 0640 root:dovecot\n${setting}`, 0o640, groupId('dovecot'));
}

/** New content in place atomically, with exactly `mode` whatever the umask or the old file's mode. */
function writeSecret(file: string, content: string, mode: number, gid?: number): void {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    rmSync(tmp, { force: true }); // left by a crash: its mode is not ours to trust
    try {
        writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
        if (gid !== undefined && process.getuid?.() === 0) chownSync(tmp, 0, gid);
        chmodSync(tmp, mode);
        renameSync(tmp, file);
    } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
    }
}

function groupId(name: string): number | undefined {
    try {
        const line = readFileSync('/etc/group', 'utf8')
            .split('\n')
            .find(l => l.startsWith(`${name}:`));
        const gid = line ? Number(line.split(':')[2]) : NaN;
        return Number.isInteger(gid) ? gid : undefined;
    } catch {
        return undefined;
    }
}

/**
 * root creating the token (`dovecot-config` run before the bridge ever started) hands it to the
 * owner of its directory, the bridge's state directory: a root-owned 0600 token would lock the
 * bridge out of its own secret. A directory root owns stays root's (dovecot-config says so).
 */
function ownLikeDirectory(file: string): void {
    if (process.getuid?.() !== 0) return;
    const dir = statSync(path.dirname(path.resolve(file)));
    if (dir.uid !== 0) chownSync(file, dir.uid, dir.gid);
}
