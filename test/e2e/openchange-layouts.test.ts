// Folder and separator in OpenChange payloads follow Dovecot's mailbox list, not a setting: with
// LAYOUT=fs the list separator is '/', whatever the namespace separator. Under namespace '.' the
// hook's probe shows it; under namespace '/' (list and namespace agree) the bridge takes it from
// IMAP NAMESPACE over --imap. A C session (test/openchange/session.c) receives the payloads.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { hookFragment } from '../helpers/hook-fragment.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { freePort, waitFor } from '../helpers/net.js';
import { buildC, type Built } from '../openchange/build.js';

const cleanups: (() => void)[] = []; // key files of hookFragment()
const TOKEN = 'openchange-layout-token-0123456789abcdef';
const USER = 'alice@example.org';

function payload(uid: number, folder: string, sep: string): string {
    return Buffer.concat([Buffer.from([1, 2, 0]), Buffer.from(`sogo\0${uid}.eml\0${folder}\0${sep}`, 'latin1')]).toString('hex');
}

const CASES = [
    { name: "LAYOUT=fs under namespace separator '.' (the hook's probe)", ns: '.', imap: false, sub: 'Calls.Sub', folder: 'Calls/Sub' },
    { name: "LAYOUT=fs under namespace separator '/' (IMAP NAMESPACE)", ns: '/', imap: true, sub: 'Calls/Sub', folder: 'Calls/Sub' }
];

describe.each(CASES)('$name', ({ ns, imap, sub, folder }) => {
    let c: Built;
    let mc: TestMemcached;
    let dovecot: TestDovecot;
    let vmb: TestBridge;
    let stopSession = async () => undefined as void;
    const frames: string[] = [];

    beforeAll(async () => {
        c = buildC();
        mc = await startMemcached();
        const ingest = `127.0.0.1:${await freePort()}`;
        const frag = hookFragment(['--ingest', ingest, '--ingest-token', TOKEN]); // key file in a temp dir of its own
        cleanups.push(frag.cleanup);
        const fragment = frag.fragment;
        dovecot = await startDovecot({ extraConfig: fragment, namespaceSeparator: ns, mailLocationOptions: ':LAYOUT=fs' });
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, ingest, ingestToken: TOKEN, resolver: mc.resolver, ...(imap ? { imap: dovecot.imapUrl } : {}) });
        const child = spawn(c.session, [mc.resolver, 'alice', `tcp://127.0.0.1:${await freePort()}`], { stdio: ['ignore', 'pipe', 'inherit'] });
        const exited = new Promise<void>(res => child.once('exit', () => res()));
        stopSession = async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
        };
        const lines: string[] = [];
        createInterface({ input: child.stdout! }).on('line', l => {
            lines.push(l);
            if (/^[0-9a-f]+ flags=/.test(l)) frames.push(l.split(' ')[0]);
        });
        await waitFor(() => lines.includes('ready'), 10_000, 'C session');
    }, 60_000);

    afterAll(async () => {
        await stopSession();
        await vmb?.stop();
        await dovecot?.destroy();
        for (const done of cleanups.splice(0)) done();
        await mc?.stop();
        c?.cleanup();
    });

    it('a sub-folder APPEND and an INBOX delivery carry the storage name and the list separator /', async () => {
        // the APPEND first: the bridge waits for Dovecot's uid of its own deliveries once it has heard from the hook
        const client = await dovecot.imap(USER);
        try {
            await client.mailboxCreate(sub);
            await client.append(sub, Buffer.from('Subject: vm2\r\nMessage-ID: <l2@x>\r\n\r\nhi\r\n'));
        } finally {
            await client.logout().catch(() => undefined);
        }
        await waitFor(() => frames.length >= 1, 10_000, 'sub-folder notification');
        const r = await send(vmb.lmtpPort, 'pbx@example.org', [USER], Buffer.from('Subject: vm\r\nMessage-ID: <l1@x>\r\n\r\nhi\r\n'));
        expect(r.final.map(f => f.code)).toEqual([250]);
        await waitFor(() => frames.length >= 2, 10_000, 'INBOX notification');
        expect(frames).toEqual([payload(1, folder, '/'), payload(1, 'INBOX', '/')]);
    });
});
