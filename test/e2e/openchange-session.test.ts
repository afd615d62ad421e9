// OpenChange sessions written in C on Debian's libnanomsg and libmemcached (test/openchange/session.c:
// bind NN_PULL, register resolver:<cn> with libmemcached, decode payloads) against the bridge
// delivering into a real Dovecot with the hook, over three real memcached servers with
// `--DISTRIBUTION=consistent`: every delivery notified once, byte-exact, with Dovecot's uid and the
// folder and separator OpenChange's own Dovecot plugin would send (mailbox_get_name(),
// mailbox_list_get_hierarchy_sep()) — INBOX, a sub-folder under namespace separator '/', a
// non-ASCII folder (modified UTF-7 storage name) — and nothing after a session unregistered.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import memjs from 'memjs';
import { hookFragment } from '../helpers/hook-fragment.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { freePort, waitFor } from '../helpers/net.js';
import { buildC, type Built } from '../openchange/build.js';
import { pushDrops as dropsMetric } from '../../src/metrics.js';

const cleanups: (() => void)[] = []; // key files of hookFragment()
const TOKEN = 'openchange-session-token-0123456789abcdef';
const USERS = Array.from({ length: 20 }, (_, i) => `user${String(i + 1).padStart(2, '0')}@example.org`);
const WARMUP = 'warmup@example.org';
const cnOf = (u: string) => u.slice(0, u.indexOf('@'));

/** What OpenChange's plugin sends: u8 1, u16 0x0002, "sogo\0", "<uid>.eml\0", folder\0, sep. */
function payload(uid: number, folder: string, sep: string): string {
    return Buffer.concat([Buffer.from([1, 2, 0]), Buffer.from(`sogo\0${uid}.eml\0`, 'ascii'), Buffer.from(folder + '\0', 'latin1'), Buffer.from(sep, 'latin1')]).toString('hex');
}

class Session {
    readonly frames: string[] = [];
    readonly lines: string[] = [];
    private readonly child: ChildProcess;
    private readonly exited: Promise<void>;

    constructor(bin: string, resolver: string, cn: string, url: string) {
        this.child = spawn(bin, [resolver, cn, url], { stdio: ['ignore', 'pipe', 'inherit'] });
        this.exited = new Promise(res => this.child.once('exit', () => res()));
        createInterface({ input: this.child.stdout! }).on('line', line => {
            this.lines.push(line);
            const hex = /^([0-9a-f]+) flags=/.exec(line);
            if (hex) this.frames.push(hex[1]);
        });
    }

    async ready(): Promise<this> {
        await waitFor(() => this.lines.includes('ready'), 10_000, 'C session registered');
        return this;
    }

    async unregister(): Promise<void> {
        this.child.kill('SIGUSR1');
        await waitFor(() => this.lines.includes('unregistered'), 10_000, 'C session unregistered');
    }

    async stop(): Promise<void> {
        if (this.child.exitCode !== null || this.child.signalCode !== null) return;
        this.child.kill('SIGTERM');
        const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
        await this.exited;
        clearTimeout(t);
    }
}

function message(user: string, n: number): Buffer {
    return Buffer.from(`From: pbx@example.org\r\nTo: ${user}\r\nSubject: voicemail ${n}\r\nMessage-ID: <oc-${n}-${user}>\r\n\r\nbody ${n}\r\n`);
}

describe('OpenChange sessions in C against the bridge, Dovecot and three memcached servers', () => {
    let c: Built;
    const memcached: TestMemcached[] = [];
    let dovecot: TestDovecot;
    let vmb: TestBridge;
    let resolver = '';
    const sessions = new Map<string, Session>();

    beforeAll(async () => {
        c = buildC();
        for (let i = 0; i < 3; i++) memcached.push(await startMemcached());
        resolver = `${memcached.map(m => m.resolver).join(' ')} --DISTRIBUTION=consistent`;
        const ingest = `127.0.0.1:${await freePort()}`;
        const frag = hookFragment(['--ingest', ingest, '--ingest-token', TOKEN]); // key file in a temp dir of its own
        cleanups.push(frag.cleanup);
        const fragment = frag.fragment;
        dovecot = await startDovecot({ users: [...USERS, WARMUP], extraConfig: fragment, namespaceSeparator: '/' });
        // --imap: should a MessageNew miss the join window on a loaded machine, the uid is found by Message-ID
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, ingest, ingestToken: TOKEN, resolver, resolverCn: 'username', imap: dovecot.imapUrl });
        for (const u of USERS) {
            const s = new Session(c.session, resolver, cnOf(u), `tcp://127.0.0.1:${await freePort()}`);
            sessions.set(u, s);
        }
        await Promise.all([...sessions.values()].map(s => s.ready()));
        // The bridge waits for Dovecot's uid only once it has heard from the hook: let it hear once.
        const warm = await new Session(c.session, resolver, 'warmup', `tcp://127.0.0.1:${await freePort()}`).ready();
        sessions.set(WARMUP, warm);
        const imap = await dovecot.imap(WARMUP);
        await imap.append('INBOX', message(WARMUP, 0)).finally(() => imap.logout().catch(() => undefined));
        await waitFor(() => warm.frames.length >= 1, 10_000, 'hook heard');
    }, 60_000);

    afterAll(async () => {
        await Promise.all([...sessions.values()].map(s => s.stop()));
        await vmb?.stop();
        await dovecot?.destroy();
        for (const done of cleanups.splice(0)) done();
        await Promise.all(memcached.map(m => m.stop()));
        c?.cleanup();
    });

    it('the C sessions wrote their records where libmemcached places them, over all three servers', async () => {
        const keys = USERS.map(u => `resolver:${cnOf(u)}`);
        const where = execFileSync(c.placement, [resolver], { input: keys.join('\n') + '\n', encoding: 'utf8' })
            .trim()
            .split('\n')
            .map(Number);
        expect(new Set(where).size).toBe(3);
        const clients = memcached.map(m => memjs.Client.create(m.server, { logger: { log: () => undefined } }));
        try {
            for (const [i, key] of keys.entries()) expect((await clients[where[i]].get(key)).value, key).not.toBeNull();
        } finally {
            for (const cl of clients) cl.close();
        }
    });

    it('notifies every delivery once, byte-exact, with Dovecot uid, folder INBOX and the list separator', async () => {
        for (let round = 1; round <= 3; round++) {
            const replies = await Promise.all(USERS.map(u => send(vmb.lmtpPort, 'pbx@example.org', [u], message(u, round))));
            expect(replies.map(r => r.final.map(f => f.code))).toEqual(USERS.map(() => [250]));
            if (round < 3) await new Promise(res => setTimeout(res, 100)); // the load profile: 0.1 s between deliveries
        }
        const counts = () => USERS.map(u => `${cnOf(u)}:${sessions.get(u)!.frames.length}`).join(' ');
        await waitFor(() => USERS.every(u => sessions.get(u)!.frames.length >= 3), 30_000, '60 notifications').catch(async err => {
            const drops = JSON.stringify((await dropsMetric.get()).values);
            throw new Error(`${(err as Error).message}; frames per session: ${counts()}; push drops: ${drops}`);
        });
        for (const u of USERS) {
            const got = sessions.get(u)!.frames;
            // Maildir++ under namespace separator '/': INBOX's storage name, list separator '.'
            expect([...got].sort()).toEqual([1, 2, 3].map(uid => payload(uid, 'INBOX', '.')).sort());
        }
    }, 60_000);

    it('APPEND and COPY into a sub-folder and a non-ASCII folder send the storage name and separator', async () => {
        const user = USERS[0];
        const s = sessions.get(user)!;
        const before = s.frames.length;
        const imap = await dovecot.imap(user);
        try {
            await imap.mailboxCreate('Voicemail/Sub');
            await imap.mailboxCreate('Ärger/Büro');
            await imap.append('Voicemail/Sub', message(user, 10));
            await waitFor(() => s.frames.length >= before + 1, 10_000, 'sub-folder APPEND');
            await imap.mailboxOpen('INBOX');
            await imap.messageCopy('1', 'Voicemail/Sub', { uid: true });
            await waitFor(() => s.frames.length >= before + 2, 10_000, 'sub-folder COPY');
            await imap.append('Ärger/Büro', message(user, 11));
            await waitFor(() => s.frames.length >= before + 3, 10_000, 'non-ASCII APPEND');
        } finally {
            await imap.logout().catch(() => undefined);
        }
        expect(s.frames.slice(before)).toEqual([payload(1, 'Voicemail.Sub', '.'), payload(2, 'Voicemail.Sub', '.'), payload(1, '&AMQ-rger.B&APw-ro', '.')]);
    });

    it('a session that unregistered receives nothing more, while another session of the user does', async () => {
        const user = USERS[1];
        const old = sessions.get(user)!;
        const other = await new Session(c.session, resolver, cnOf(user), `tcp://127.0.0.1:${await freePort()}`).ready();
        sessions.set(`${user}#2`, other);
        await old.unregister();
        const before = old.frames.length;
        const r = await send(vmb.lmtpPort, 'pbx@example.org', [user], message(user, 4));
        expect(r.final.map(f => f.code)).toEqual([250]);
        await waitFor(() => other.frames.length >= 1, 10_000, 'the registered session');
        expect(other.frames).toEqual([payload(4, 'INBOX', '.')]);
        expect(old.frames.length).toBe(before);
    });
});
