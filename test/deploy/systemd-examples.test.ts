// examples/systemd stays valid: systemd's own checker accepts the unit as written, its hardening
// scores "OK" in `systemd-analyze security`, and the environment file and JSON config load through
// serve's configuration loader (every variable name a real option, every value valid).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, envName, loadConfig } from '../../src/config.js';

const run = promisify(execFile);
const DIR = path.resolve(__dirname, '../../examples/systemd');
const UNIT = path.join(DIR, 'vmbridge.service');

/** systemd-analyze comes with Debian's systemd package; say so instead of skipping. */
async function analyze(args: string[]): Promise<{ stdout: string; stderr: string }> {
    try {
        return await run('systemd-analyze', args);
    } catch (err) {
        const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
        if (e.code === 'ENOENT') throw new Error('systemd-analyze not found: install the Debian package systemd');
        throw new Error(`systemd-analyze ${args.join(' ')} failed:\n${e.stdout}${e.stderr}`);
    }
}

/** KEY=value lines as systemd's EnvironmentFile= reads them (no quoting used in the example). */
function envFile(file: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const line of readFileSync(file, 'utf8').split('\n')) {
        const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
        if (m) env[m[1]] = m[2];
    }
    return env;
}

describe('examples/systemd', () => {
    it('systemd-analyze verify accepts vmbridge.service without a warning', async () => {
        const { stderr } = await analyze(['verify', UNIT]);
        expect(stderr).toBe('');
    });

    it('the unit’s hardening rates OK (exposure < 2) in systemd-analyze security', async () => {
        const { stdout } = await analyze(['security', '--offline=yes', UNIT]);
        const m = /Overall exposure level for vmbridge\.service: ([\d.]+) (\w+)/.exec(stdout);
        expect(m, stdout).not.toBeNull();
        expect(Number(m![1])).toBeLessThan(2);
    });

    it('vmbridge.env and vmbridge.json load through serve’s configuration', () => {
        const env = envFile(path.join(DIR, 'vmbridge.env'));
        const known = new Set(Object.keys(ConfigSchema.shape).map(envName));
        expect(Object.keys(env).filter(k => !known.has(k))).toEqual([]);
        expect(Object.keys(env).length).toBeGreaterThan(0);

        const config = loadConfig({}, env, path.join(DIR, 'vmbridge.json'));
        expect(config).toMatchObject({
            lmtp: { text: '127.0.0.1:2424' },
            deliver: { text: 'lmtp:/run/dovecot/lmtp' },
            imap: { text: env.VMBRIDGE_IMAP },
            ami: { text: env.VMBRIDGE_AMI },
            ingestTokenFile: '/var/lib/vmbridge/ingest.token',
            voicemailConf: '/etc/asterisk/voicemail.conf'
        });
    });

    it('the unit runs the settings files the examples are installed as', () => {
        const unit = readFileSync(UNIT, 'utf8');
        expect(unit).toMatch(/^EnvironmentFile=\/etc\/default\/vmbridge$/m);
        expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/vmbridge\/bin\/vmbridge\.js serve --config \/etc\/vmbridge\/vmbridge\.json$/m);
        // the state directory is the working directory and holds the ingest token the JSON names
        expect(unit).toMatch(/^StateDirectory=vmbridge$/m);
        expect(unit).toMatch(/^WorkingDirectory=\/var\/lib\/vmbridge$/m);
    });
});
