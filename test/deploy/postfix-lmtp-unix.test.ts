// `--lmtp unix:/path` with a real Postfix using `lmtp:unix:` (issue 17, item 2, LMTP part). The
// layout docs/policy.md recommends: the socket in a directory under Postfix's queue directory
// (reachable from the chrooted lmtp client, Debian's default), owned by vmbridge, group postfix,
// mode 2750 (setgid: the socket inherits the group), socket mode 0660. Postfix's lmtp client
// (user postfix) delivers through it; any other local user is refused by the file system.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { postfixExample, startPostfix, substitute, type TestPostfix } from '../helpers/postfix.js';
import { sideListeners, startServe, type Serve } from './cli.js';

const PLAIN = readFileSync(path.join(__dirname, '../fixtures/messages', 'plain.eml'));
const gid = (name: string) => Number(spawnSync('getent', ['group', name], { encoding: 'utf8' }).stdout.split(':')[2]);

describe('Postfix lmtp:unix: → vmbridge --lmtp unix:/path → Dovecot', () => {
    let dovecot: TestDovecot;
    let postfix: TestPostfix;
    let serve: Serve | undefined;
    let socket: string;

    beforeAll(async () => {
        dovecot = await startDovecot();
        postfix = await startPostfix({
            mainCf: postfixExample('main.cf'),
            // the example's unix-socket line, enabled instead of its inet line (the path is relative
            // to Postfix's queue directory, where its chrooted lmtp client runs)
            maps: {
                transport: substitute(postfixExample('transport'), [
                    ['\nexample.org                 lmtp:inet:127.0.0.1:2424', '\n'],
                    ['#example.org                lmtp:unix:vmbridge/lmtp', 'example.org lmtp:unix:vmbridge/lmtp']
                ])
            }
        });
        const dir = path.join(postfix.dir, 'queue', 'vmbridge');
        mkdirSync(dir);
        chownSync(dir, 0, gid('postfix'));
        chmodSync(dir, 0o2750);
        socket = path.join(dir, 'lmtp');
        serve = await startServe(['--lmtp', `unix:${socket}`, '--deliver', dovecot.lmtpUrl, ...(await sideListeners())]);
    });

    afterAll(async () => {
        await serve?.stop();
        await postfix?.destroy();
        await dovecot?.destroy();
    });

    it("creates the socket 0660 with the directory's group (postfix)", () => {
        const st = statSync(socket);
        expect(st.isSocket()).toBe(true);
        expect(st.mode & 0o777).toBe(0o660);
        expect(st.gid).toBe(gid('postfix'));
        expect(serve!.output()).toContain(`"lmtp":"unix:${socket}"`);
    });

    it('Postfix delivers through it into Dovecot', async () => {
        const r = await send(postfix.smtpPort, 'carol@example.org', ['alice@example.org'], PLAIN, { lmtp: false });
        expect(r.final.map(x => x.code)).toEqual([250]);
        const [sent] = await postfix.waitForDelivery('alice@example.org', 'sent');
        expect(sent).toMatch(/relay=\S*\[vmbridge\/lmtp\].*status=sent \(250 /);
        expect(await dovecot.messages('alice@example.org')).toHaveLength(1);
    });

    it('another local user cannot connect', () => {
        const probe = `require('net').connect(${JSON.stringify(socket)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', e => { console.log(e.code); process.exit(0); });`;
        const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', probe], { encoding: 'utf8' });
        expect(r.stdout.trim()).toBe('EACCES');
    });

    it('a second serve on the same live socket fails to start (exit 69), the first keeps it', async () => {
        await expect(startServe(['--lmtp', `unix:${socket}`, ...(await sideListeners())])).rejects.toThrow(/exited 69[\s\S]*another process is listening/);
        expect(statSync(socket).isSocket()).toBe(true);
        const r = await send(postfix.smtpPort, 'carol@example.org', ['bob@example.org'], PLAIN, { lmtp: false });
        expect(r.final.map(x => x.code)).toEqual([250]);
        await postfix.waitForDelivery('bob@example.org', 'sent');
    });
});
