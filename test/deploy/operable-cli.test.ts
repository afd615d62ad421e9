// What an operator sees from the CLI: --version (from package.json), the `ready` line naming the
// version and the wiring without credentials, MWI options refused without --imap (64, named),
// and SIGHUP saying what it reloaded and which changed options need a restart.
import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort, freeStateDir, waitFor } from '../helpers/net.js';
import { startServe } from './cli.js';

const BIN = path.resolve(__dirname, '../../bin/vmbridge.js');
const { version } = JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string };

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
        const r = await promisify(execFile)(process.execPath, [BIN, ...args]);
        return { code: 0, ...r };
    } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
}

describe('operator-facing CLI', () => {
    it('--version prints the package version', async () => {
        const r = await run(['--version']);
        expect(r.code).toBe(0);
        expect(r.stdout.trim()).toBe(version);
    });

    it('refuses --ami, --voicemail-conf and --externnotify without --imap (64, naming them)', async () => {
        const r = await run(['serve', '--ami', 'ami://u:p@127.0.0.1:1', '--externnotify', '/bin/true', '--state-dir', freeStateDir()]);
        expect(r.code).toBe(64);
        expect(r.stderr).toContain('--ami, --externnotify need --imap');
    });

    it('logs version and wiring when ready, and what SIGHUP reloaded and what needs a restart', async () => {
        const stateDir = freeStateDir();
        const config = path.join(stateDir, 'config.json');
        const lmtp = `127.0.0.1:${await freePort()}`;
        const ingest = `127.0.0.1:${await freePort()}`;
        writeFileSync(config, JSON.stringify({ logLevel: 'info', maxSize: 1000 }));
        const serve = await startServe(['--config', config, '--lmtp', lmtp, '--ingest', ingest, '--publish', `tcp://127.0.0.1:${await freePort()}`, '--state-dir', stateDir]);
        try {
            const ready = JSON.parse(
                serve
                    .output()
                    .split('\n')
                    .find(l => l.includes('"msg":"vmbridge ready"'))!
            );
            expect(ready).toMatchObject({ version, deliver: 'maildir:./var/mail', resolver: 'memory', imap: 'off', ami: 'off', hookTransport: 'tcp', lmtp });
            writeFileSync(config, JSON.stringify({ logLevel: 'debug', maxSize: 2000 }));
            serve.child.kill('SIGHUP');
            const line = await waitFor(
                () =>
                    serve
                        .output()
                        .split('\n')
                        .find(l => l.includes('SIGHUP: reloaded')),
                10_000,
                'SIGHUP log line'
            );
            const logged = JSON.parse(line);
            expect(logged.needsRestart).toEqual(['--max-size']);
            expect(logged.reloaded).toContain('--log-level');
        } finally {
            await serve.stop();
        }
    });

    it('dovecot-config before serve creates the token owned like the state directory, and says so', async () => {
        const stateDir = path.join(freeStateDir(), 'state');
        mkdirSync(stateDir);
        chownSync(stateDir, 65534, 65534); // the bridge's user (here: nobody)
        const r = await run(['dovecot-config', '--state-dir', stateDir, '--dovecot-version', '2.3']);
        expect(r.code).toBe(0);
        const token = path.join(stateDir, 'ingest.token');
        expect(statSync(token)).toMatchObject({ uid: 65534, gid: 65534 });
        expect(r.stderr).toContain(`created the ingest token ${token} (owner uid 65534`);
    });

    it('examples/demo.mjs runs on free ports (beside a running bridge) and shows the event', async () => {
        const { stdout } = await promisify(execFile)(process.execPath, [path.resolve(__dirname, '../../examples/demo.mjs')], { timeout: 30_000 });
        expect(stdout).toContain('LMTP reply: 250');
        expect(stdout).toMatch(/listener printed: \{[^]*"type": "newmail"/);
    });
});
