// `vmbridge doctor` against a correct chain (real Dovecot with the hook, real memcached, the fake
// AMI, a running bridge): every check ok, exit 0; then each piece broken in turn: the check is
// named as `fail` with its fix, and the exit code is non-zero (78 configuration, 69 unavailable).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { MASTER, startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { hookFragment, type HookFragment } from '../helpers/hook-fragment.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { freePort, toArgs } from '../helpers/net.js';
import { FakeAmi } from '../mwi/fake-ami.js';
import { ROOT } from '../reliability/child-bridge.js';

const TOKEN = 'doctor-test-token-0123456789abcdef';
const USER = 'alice@example.org';

describe('vmbridge doctor', () => {
    let dovecot: TestDovecot;
    let mc: TestMemcached;
    let ami: FakeAmi;
    let vmb: TestBridge;
    let frag: HookFragment;
    let dir: string;
    let flags: Record<string, unknown>;

    beforeAll(async () => {
        dir = mkdtempSync(path.join(tmpdir(), 'vmb-doctor-'));
        const ingest = `127.0.0.1:${await freePort()}`;
        frag = hookFragment(['--ingest', ingest, '--ingest-token', TOKEN]);
        [dovecot, mc, ami] = await Promise.all([startDovecot({ extraConfig: frag.fragment }), startMemcached(), new FakeAmi().start()]);
        const vmConf = path.join(dir, 'voicemail.conf');
        writeFileSync(vmConf, `[general]\nimapfolder=INBOX\n\n[default]\n100 => 1234,Alice,,,imapuser=${USER}\n`);
        flags = {
            deliver: dovecot.lmtpUrl,
            ingest,
            ingestToken: TOKEN,
            resolver: mc.resolver,
            imap: dovecot.imapUrl,
            ami: ami.url,
            voicemailConf: vmConf,
            admin: `127.0.0.1:${await freePort()}`
        };
        vmb = await startBridge(flags);
        flags = { ...flags, lmtp: vmb.config.lmtp.text, stateDir: vmb.config.stateDir, replay: vmb.config.replay?.text, publish: vmb.config.publish };
    }, 60_000);

    afterAll(async () => {
        await vmb?.stop();
        await Promise.all([dovecot?.destroy(), mc?.stop(), ami?.stop()]);
        frag?.cleanup();
        rmSync(dir, { recursive: true, force: true });
    });

    async function doctor(over: Record<string, unknown> = {}, extra: string[] = []): Promise<{ code: number; out: string }> {
        const args = [path.join(ROOT, 'bin/vmbridge.js'), 'doctor', '--dovecot-conf', dovecot.conf, ...toArgs({ ...flags, ...over }), ...extra];
        try {
            const { stdout } = await promisify(execFile)(process.execPath, args, { env: { ...process.env, VMBRIDGE_LOG_LEVEL: 'silent' } });
            return { code: 0, out: stdout };
        } catch (err) {
            const e = err as { code: number; stdout: string; stderr: string };
            return { code: e.code, out: e.stdout + e.stderr };
        }
    }

    const failed = (out: string) => out.split('\n').filter(l => l.startsWith('fail'));

    it('passes every check of a correct setup and exits 0', async () => {
        const { code, out } = await doctor();
        expect(failed(out), out).toEqual([]);
        expect(code, out).toBe(0);
        for (const check of [
            'dovecot-hook',
            'hook-key',
            'listeners lmtp',
            'listeners ingest',
            'listeners admin',
            'ingest-probe',
            'dovecot-lmtp',
            'imap-master',
            `memcached ${mc.server}`,
            'ami',
            'voicemail-folders 100@default'
        ]) {
            expect(out).toMatch(new RegExp(`^ok +${check}:`, 'm'));
        }
        expect(out).not.toContain(TOKEN);
        // the probe batch is not an event, nor a sign of the hook: nothing was sent onward
        expect(ami.actions.filter(a => a.Context === 'vmbridge-doctor.invalid')).toHaveLength(1);
    });

    it('names a Dovecot config without the hook (78)', async () => {
        const bare = path.join(dir, 'bare.conf');
        writeFileSync(bare, readFileSync(dovecot.conf, 'utf8').replace(frag.fragment, ''));
        const { code, out } = await doctor({}, ['--dovecot-conf', bare]);
        expect(failed(out).join('\n')).toMatch(/^fail dovecot-hook: no push_notification Lua driver/m);
        expect(out).toContain('fix: vmbridge dovecot-config');
        expect(code).toBe(78);
    });

    it('names a key that differs from the ingest token, without printing either', async () => {
        const other = 'another-token-0123456789abcdefgh';
        const { code, out } = await doctor({ ingestToken: other });
        expect(failed(out).join('\n')).toMatch(/^fail hook-key: Dovecot's vmbridge_key differs/m);
        expect(failed(out).join('\n')).toMatch(/^fail ingest-probe: .*refused the signature/m);
        expect(out).not.toContain(TOKEN);
        expect(out).not.toContain(other);
        expect(code).toBe(78);
    });

    it('says a wrong IMAP master password is a refused login', async () => {
        const { code, out } = await doctor({ imap: dovecot.imapUrl.replace(`:${MASTER.password}@`, ':wrong@') });
        expect(failed(out).join('\n')).toMatch(/^fail imap-master: Dovecot refused master user vmmaster .*wrong master password/m);
        expect(out).not.toContain('Command failed');
        expect(code).toBe(78);
    });

    it('names a memcached server that is down (69)', async () => {
        const down = `127.0.0.1:${await freePort()}`;
        const { code, out } = await doctor({ resolver: `--SERVER=${mc.server} --SERVER=${down}` });
        expect(out).toMatch(new RegExp(`^ok +memcached ${mc.server}:`, 'm'));
        expect(failed(out).join('\n')).toMatch(new RegExp(`^fail memcached ${down}: .*ECONNREFUSED`, 'm'));
        expect(code).toBe(69);
    });

    it('names an AMI that refuses VoicemailRefresh, and a refused login', async () => {
        ami.refuse('VoicemailRefresh');
        try {
            const { code, out } = await doctor();
            expect(failed(out).join('\n')).toMatch(/^fail ami: vmbridge may not run VoicemailRefresh: Permission denied/m);
            expect(code).toBe(78);
        } finally {
            ami.allow('VoicemailRefresh');
        }
        const { out } = await doctor({ ami: ami.url.replace(':s3cret@', ':bad@') });
        expect(failed(out).join('\n')).toMatch(/^fail ami: login as vmbridge refused: Authentication failed/m);
    });

    it('names the box and folder of a voicemail.conf imapfolder that does not exist', async () => {
        const conf = path.join(dir, 'voicemail-missing.conf');
        writeFileSync(conf, `[default]\n100 => 1234,Alice,,,imapuser=${USER}|imapfolder=Voicemail\n`);
        const { code, out } = await doctor({ voicemailConf: conf });
        expect(failed(out).join('\n')).toMatch(new RegExp(`^fail voicemail-folders 100@default: box 100@default: folder Voicemail does not exist for ${USER}`, 'm'));
        expect(out).toContain(`doveadm mailbox create -u ${USER} Voicemail`);
        expect(code).toBe(78);
    });

    it('names a listener that is down (69)', async () => {
        const admin = `127.0.0.1:${await freePort()}`;
        const { code, out } = await doctor({ admin });
        expect(failed(out).join('\n')).toMatch(new RegExp(`^fail listeners admin: ${admin}: .*ECONNREFUSED`, 'm'));
        expect(code).toBe(69);
    });
});
