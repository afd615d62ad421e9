// The native push_notification driver (dovecot/native/) in a real Dovecot 2.3 and 2.4 (built in
// the trixie root, helpers/native-driver.ts), on what it adds
// over the Lua script (dovecot-events.test.ts covers the events themselves, through both drivers):
// one connection per Dovecot process shared by every recipient, a key the ingest refuses, and the
// bridge going away and coming back (batches dropped meanwhile, the seq gap makes it recount),
// a bridge that stops reading for a while (batches wait in the driver's bounded buffer, none lost),
// and a process that ends meanwhile (its last batches wait in the kernel, none lost).
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../src/hook/batch.js';
import { IngestServer } from '../../src/hook/ingest.js';
import { createLogger } from '../../src/log.js';
import { ingestBatches } from '../../src/metrics.js';
import { startBridge, Subscriber, type TestBridge } from '../helpers/bridge.js';
import { MAIL_UID, type TestDovecot } from '../helpers/dovecot.js';
import { DOVECOT_VERSIONS, type DovecotVersion, dovecotOf, hookFragmentFor, ROOT_BUILD_TIMEOUT } from '../helpers/dovecot24.js';
import { type HookFragment } from '../helpers/hook-fragment.js';
import { LineClient, send, transaction } from '../helpers/lmtp-client.js';
import { driverArgsFor, nativeFragment, socketDir } from '../helpers/native-driver.js';
import { freePort, waitFor } from '../helpers/net.js';
import { processTree } from '../deliver/util.js';
import { busUrl } from '../../src/publish/bus-address.js';

const ROOT = path.resolve(__dirname, '../..');
const PLAIN = readFileSync(path.join(ROOT, 'test/fixtures/messages/plain.eml'));
const VOICEMAIL = readFileSync(path.join(ROOT, 'test/fixtures/messages/asterisk-voicemail.eml'));
const TOKEN = 'native-test-token-0123456789abcdef';
const USERS = ['n1@example.org', 'n2@example.org', 'n3@example.org', 'n4@example.org', 'n5@example.org'];

const counted = async (result: string) => (await ingestBatches.get()).values.find(v => v.labels.result === result)?.value ?? 0;

/** The driver's retry pause in the syntax of `version`. */
const retrySetting = (version: DovecotVersion, msecs: number) =>
    version === '2.4' ? `push_notification vmbridge {\n  push_notification_vmbridge_retry_interval = ${msecs}ms\n}\n` : `plugin {\n  vmbridge_retry_msecs = ${msecs}\n}\n`;

describe.each(DOVECOT_VERSIONS)('Dovecot %s, native driver: one connection per Dovecot process', version => {
    let dir = '';
    let sock = '';
    let frag: HookFragment;
    let dovecot: TestDovecot;
    let ingest: IngestServer | undefined;
    const batches: Batch[] = [];
    let hellos = 0;

    const listen = async (token: string) => {
        ingest = new IngestServer({ listen: { path: sock }, token, maxBody: 1 << 20, logger: createLogger('silent'), onBatch: b => batches.push(b), onHello: () => hellos++ });
        await ingest.listen();
    };

    beforeAll(async () => {
        dir = await socketDir(version, 'vmb-native-');
        sock = path.join(dir, 'ingest.sock');
        frag = await nativeFragment(version, ['--ingest', `unix:${sock}`, '--ingest-token', TOKEN]);
        dovecot = await dovecotOf(version, { users: USERS, extraConfig: frag.fragment }).start();
        await listen(TOKEN);
    }, ROOT_BUILD_TIMEOUT);

    afterAll(async () => {
        await ingest?.close();
        await dovecot?.destroy();
        frag?.cleanup();
        rmSync(dir, { recursive: true, force: true });
    });

    it('many LMTP recipients, two transactions in one session: one hello, one batch per recipient, each its own proc', async () => {
        const c = await LineClient.connect(dovecot.lmtpPort);
        try {
            await c.reply();
            await c.command('LHLO test.example');
            for (let t = 0; t < 2; t++) {
                const r = await transaction(c, 'x@example.org', USERS, PLAIN);
                expect(r.final.map(f => f.code)).toEqual(USERS.map(() => 250));
            }
        } finally {
            c.close();
        }
        await waitFor(() => batches.length === 2 * USERS.length, 10_000, 'a batch per recipient');
        // The Lua script opens and greets a connection per recipient; the connection also outlives
        // each transaction's mail users (push_notification's cleanup runs after every one).
        expect(hellos).toBe(1);
        expect(batches.map(b => b.user).sort()).toEqual([...USERS, ...USERS].sort());
        expect(new Set(batches.map(b => b.proc)).size).toBe(2 * USERS.length);
        expect(new Set(batches.map(b => b.proc.split('.')[0])).size).toBe(1); // one process
        for (const b of batches) {
            expect(b.seq).toBe(1);
            expect(b.events).toEqual([
                expect.objectContaining({ name: 'MessageNew', mailbox: 'INBOX', message_id: '<plain-1@example.org>', storage_name: 'INBOX', flags: [], keywords: [] })
            ]);
        }
    });

    it('a new message carries its classification header fields as stored, nothing else; too many of them, none', async () => {
        batches.length = 0;
        const big = Buffer.concat([Buffer.from(`Subject: ${'x'.repeat(20_000)}\r\n`), VOICEMAIL]);
        for (const m of [VOICEMAIL, PLAIN, big]) expect((await send(dovecot.lmtpPort, 'x@example.org', [USERS[1]], m)).final.map(f => f.code)).toEqual([250]);
        await waitFor(() => batches.length === 3, 10_000, 'three batches');
        const fields = batches.map(b => b.events[0]?.headers_base64);
        const vm = Buffer.from(fields[0]!, 'base64').toString('latin1');
        expect(vm).toMatch(/^X-Asterisk-VM-Extension: 1000\r?$/m);
        expect(vm).toMatch(/^X-Asterisk-VM-Caller-ID-Num: 5551234\r?$/m);
        expect(vm).toMatch(/^Message-ID: <Asterisk-1-1804289383-1000-4242@pbx.example.org>\r?$/m);
        expect(vm).not.toMatch(/^(From|To|Date|MIME-Version):/im);
        expect(Buffer.from(fields[1]!, 'base64').toString('latin1')).toMatch(/^Subject: lunch\?\r?\nMessage-ID: <plain-1@example.org>\r?\n/);
        expect(fields[2]).toBeUndefined(); // over 16 KB: the bridge fetches them over IMAP instead
    });

    it('a COPY of many messages is one batch: the fields go with the first 64 KB of them, the rest without', async () => {
        const user = USERS[2];
        const n = 200; // ~640 bytes of fields each: about 100 fit
        for (let i = 0; i < n; i++) await send(dovecot.lmtpPort, 'x@example.org', [user], VOICEMAIL);
        const c = await dovecot.imap(user);
        try {
            await c.mailboxCreate('Copies');
            await waitFor(() => batches.filter(b => b.user === user).length >= n, 10_000, 'the deliveries');
            batches.length = 0;
            await c.mailboxOpen('INBOX');
            await c.messageCopy('1:*', 'Copies');
        } finally {
            await c.logout();
        }
        await waitFor(() => batches.some(b => b.user === user && b.events.some(e => e.name === 'MessageAppend')), 10_000, 'the COPY batch');
        const copy = batches.find(b => b.events.some(e => e.name === 'MessageAppend'))!;
        const appends = copy.events.filter(e => e.name === 'MessageAppend');
        expect(appends.length).toBeGreaterThanOrEqual(n); // and what the earlier tests delivered
        const sent = appends.filter(e => e.headers_base64 !== undefined).map(e => Buffer.from(e.headers_base64!, 'base64').length);
        expect(sent.length).toBeGreaterThan(50);
        expect(sent.length).toBeLessThan(appends.length - 50);
        expect(sent.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(64 * 1024);
    });

    it('dovecot-config --driver auto writes this driver when it is built for this Dovecot', async () => {
        const moduleDir = (await driverArgsFor(version, 'native')).at(-1)!;
        const auto = await hookFragmentFor(version, ['--ingest', `unix:${sock}`, '--ingest-token', TOKEN, '--driver', 'auto', '--module-dir', moduleDir]);
        try {
            expect(auto.fragment).toMatch(
                version === '2.4' ? /push_notification vmbridge \{\n\s+push_notification_vmbridge_url = unix:\/srv\// : /push_notification_driver = vmbridge:url=unix:\//
            );
            expect(auto.fragment).not.toMatch(/lua_file|lua:file/);
        } finally {
            auto.cleanup();
        }
    });

    it('a key the ingest does not hold: refused at the hello, and mail is still stored', async () => {
        await ingest?.close();
        batches.length = 0;
        hellos = 0;
        await listen('another-token-0123456789abcdef-xyz');
        const before = await counted('unauthorized');
        const r = await send(dovecot.lmtpPort, 'x@example.org', [USERS[0]], PLAIN);
        expect(r.final.map(f => f.code)).toEqual([250]);
        await waitFor(async () => (await counted('unauthorized')) > before, 10_000, 'the refused hello');
        expect(hellos).toBe(0);
        expect(batches).toEqual([]);
        expect(dovecot.log).not.toMatch(/Error:|Fatal:|Panic:/);
    });
});

describe.each(DOVECOT_VERSIONS)('Dovecot %s, native driver: mail that bypassed the bridge is classified without IMAP', version => {
    const USER = USERS[0];
    let frag: HookFragment;
    let dovecot: TestDovecot;
    let vmb: TestBridge;
    let sub: Subscriber;

    beforeAll(async () => {
        const ingest = `127.0.0.1:${await freePort()}`;
        frag = await nativeFragment(version, ['--ingest', ingest, '--ingest-token', TOKEN]);
        dovecot = await dovecotOf(version, { users: USERS, extraConfig: frag.fragment }).start();
        // No --imap: a class can only come from the header fields the driver sent.
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, ingest, ingestToken: TOKEN, hook: 'yes' });
        sub = new Subscriber(busUrl(vmb.config), [`${USER}\tnewmail\t`, `${USER}\tdelete\t`]); // delete: ready()'s probes
        await sub.ready(vmb.bridge, USER);
    }, ROOT_BUILD_TIMEOUT);

    afterAll(async () => {
        sub?.close();
        await vmb?.stop();
        await dovecot?.destroy();
        frag?.cleanup();
    });

    const voicemail = {
        class: 'voicemail',
        voicemail: expect.objectContaining({ format: 'asterisk', mailbox: '1000', context: 'default', callerIdNum: '5551234', durationSec: 7 })
    };

    it('an LMTP delivery straight to Dovecot: newmail with class and voicemail fields', async () => {
        sub.clear();
        expect((await send(dovecot.lmtpPort, 'x@example.org', [USER], VOICEMAIL)).final.map(f => f.code)).toEqual([250]);
        const [ev] = await sub.waitFor(e => e.some(x => x.type === 'newmail'), 'newmail');
        expect(ev).toMatchObject({ type: 'newmail', mailbox: 'INBOX', messageId: '<Asterisk-1-1804289383-1000-4242@pbx.example.org>', ...voicemail });
    });

    it('an IMAP APPEND (Asterisk IMAP storage): newmail with class and voicemail fields; plain mail is email', async () => {
        sub.clear();
        const c = await dovecot.imap(USER);
        try {
            await c.append('INBOX', VOICEMAIL);
            await c.append('INBOX', PLAIN);
        } finally {
            await c.logout();
        }
        const evs = await sub.waitFor(e => e.filter(x => x.type === 'newmail').length >= 2, 'two newmail');
        expect(evs.filter(x => x.type === 'newmail')).toEqual([
            expect.objectContaining(voicemail),
            expect.objectContaining({ class: 'email', messageId: '<plain-1@example.org>' })
        ]);
    });
});

describe.each(DOVECOT_VERSIONS)('Dovecot %s, native driver: a timeout that is not finite', version => {
    let frag: HookFragment;
    let dovecot: TestDovecot;

    beforeAll(async () => {
        frag = await nativeFragment(version, ['--ingest', `127.0.0.1:${await freePort()}`, '--ingest-token', TOKEN]);
        // poll() would wait forever on a connect: the driver refuses it (2.4's "infinite", 2.3's UINT_MAX).
        const setting =
            version === '2.4' ? 'push_notification vmbridge {\n  push_notification_vmbridge_timeout = infinite\n}\n' : 'plugin {\n  vmbridge_timeout_msecs = 4294967295\n}\n';
        dovecot = await dovecotOf(version, { users: USERS, extraConfig: `${frag.fragment}\n${setting}` }).start();
    }, ROOT_BUILD_TIMEOUT);

    afterAll(async () => {
        await dovecot?.destroy();
        frag?.cleanup();
    });

    it('is refused when the driver starts, with the reason in the log, and mail is still stored', async () => {
        const r = await send(dovecot.lmtpPort, 'x@example.org', [USERS[0]], PLAIN);
        expect(r.final.map(f => f.code)).toEqual([250]);
        await waitFor(() => /vmbridge: the timeout must be finite/.test(dovecot.log), 10_000, 'the refusal in the log');
        expect(dovecot.log).not.toMatch(/Fatal:|Panic:/);
    });
});

describe.each(DOVECOT_VERSIONS)('Dovecot %s, native driver: bridge down, then back', version => {
    const USER = USERS[0];
    let frag: HookFragment;
    let dovecot: TestDovecot;
    let vmb: TestBridge | undefined;
    let sub: Subscriber | undefined;
    let imap: ImapFlow | undefined;
    let ingest = '';

    const bridge = async () => {
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, ingest, ingestToken: TOKEN, imap: dovecot.imapUrl, hook: 'yes' });
        sub = new Subscriber(busUrl(vmb.config), [`${USER}\tflag\t`, `${USER}\tdelete\t`]); // delete: ready()'s probes
        await sub.ready(vmb.bridge, USER);
    };

    beforeAll(async () => {
        ingest = `127.0.0.1:${await freePort()}`;
        frag = await nativeFragment(version, ['--ingest', ingest, '--ingest-token', TOKEN]);
        // No pause between reconnects here: the test's STOREs come in quick succession.
        dovecot = await dovecotOf(version, { users: USERS, extraConfig: `${frag.fragment}\n${retrySetting(version, 0)}` }).start();
        await bridge();
        await send(dovecot.lmtpPort, 'x@example.org', [USER], PLAIN);
    }, ROOT_BUILD_TIMEOUT);

    afterAll(async () => {
        await imap?.logout().catch(() => undefined);
        sub?.close();
        await vmb?.stop();
        await dovecot?.destroy();
        frag?.cleanup();
    });

    it('IMAP and LMTP work while it is down; back, it sees the seq gap of the session and recounts', async () => {
        imap = await dovecot.imap(USER); // one session: one proc whose seq counts the dropped batches
        await imap.mailboxOpen('INBOX');
        await imap.messageFlagsAdd('1', ['\\Flagged'], { uid: true });
        await sub!.waitFor(e => e.some(ev => ev.type === 'flag'), 'flag while up');
        sub!.close();
        await vmb!.stop();

        await imap.messageFlagsAdd('1', ['\\Seen'], { uid: true }); // dropped: nobody listens
        const r = await send(dovecot.lmtpPort, 'x@example.org', [USER], PLAIN);
        expect(r.final.map(f => f.code)).toEqual([250]);

        const gaps = await counted('gap');
        await bridge();
        await imap.messageFlagsAdd('1', ['\\Answered'], { uid: true });
        const evs = await sub!.waitFor(e => e.some(ev => ev.type === 'flag'), 'flag after the restart');
        expect(evs.find(e => e.type === 'flag')).toMatchObject({ uid: 1, flags: { set: ['\\Answered'] } });
        expect(await counted('gap')).toBeGreaterThan(gaps);
        expect(dovecot.log).not.toMatch(/Error:|Fatal:|Panic:/);
    });
});

describe.each(DOVECOT_VERSIONS)('Dovecot %s, native driver: a bridge that stops reading for a while', version => {
    const USER = USERS[0];
    const MESSAGES = 300;
    // Each STORE: a batch of 300 FlagsSet + 300 (empty) FlagsClear, ~85 KB. The driver asks for a
    // 1 MB send buffer and Linux grants twice min(1 MB, net.core.wmem_max): STORES fill that and
    // put ~4 batches more in the driver's own buffer (1 MB), flushed once the socket is writable.
    const KERNEL = 2 * Math.min(1 << 20, Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8')));
    const STORES = Math.ceil(KERNEL / 85_000) + 4;
    const EXIT_STORES = 3;
    let dir = '';
    let frag: HookFragment;
    let dovecot: TestDovecot;
    let ingest: IngestServer | undefined;
    let proxy: net.Server | undefined;
    let paused = true;
    const held = new Set<net.Socket>();
    const batches: Batch[] = [];

    beforeAll(async () => {
        dir = await socketDir(version, 'vmb-native-slow-');
        const target = path.join(dir, 'ingest.sock');
        ingest = new IngestServer({ listen: { path: target }, token: TOKEN, maxBody: 1 << 20, logger: createLogger('silent'), onBatch: b => batches.push(b) });
        await ingest.listen();
        // The "bridge": a socket that reads nothing while paused, then passes everything on.
        const front = path.join(dir, 'front.sock');
        proxy = net.createServer(c => {
            const up = net.connect(target);
            c.on('error', () => undefined);
            up.on('error', () => undefined);
            c.on('close', () => up.end());
            if (paused) {
                c.pause();
                held.add(c);
            } else c.pipe(up);
            c.once('resume-proxy', () => c.pipe(up));
        });
        await new Promise<void>(r => proxy!.listen(front, r));
        chmodSync(front, 0o666);
        frag = await nativeFragment(version, ['--ingest', `unix:${front}`, '--ingest-token', TOKEN]);
        dovecot = await dovecotOf(version, { users: USERS, extraConfig: frag.fragment }).start();
        // Messages straight into the Maildir: found by the first sync, no events of their own.
        const box = path.join(dovecot.dir, 'mail', USER);
        for (const d of ['', 'new', 'cur', 'tmp']) {
            mkdirSync(path.join(box, d), { recursive: true });
            chownSync(path.join(box, d), MAIL_UID, MAIL_UID);
        }
        for (let i = 0; i < MESSAGES; i++) writeFileSync(path.join(box, 'new', `${1700000000 + i}.M${i}P1.test`), `Message-ID: <m${i}@example.org>\r\n\r\nbody\r\n`);
    }, ROOT_BUILD_TIMEOUT);

    afterAll(async () => {
        for (const c of held) c.destroy();
        await new Promise<void>(r => (proxy ? proxy.close(() => r()) : r()));
        await ingest?.close();
        await dovecot?.destroy();
        frag?.cleanup();
        rmSync(dir, { recursive: true, force: true });
    });

    /** n STOREs of a keyword each over every message: n batches of ~90 KB. */
    const store = async (imap: ImapFlow, n: number, prefix: string) => {
        for (let i = 0; i < n; i++) await imap.messageFlagsAdd('1:*', [`${prefix}${i}`.padEnd(50, 'x')], { uid: true });
    };
    /** None read so far; the bridge reads again, and the n batches arrive whole and in order. */
    const resumeAndExpect = async (n: number, what: string) => {
        expect(batches).toEqual([]);
        paused = false;
        for (const c of held) c.emit('resume-proxy');
        await waitFor(() => batches.length === n, 20_000, what);
        expect(batches.map(b => b.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        for (const b of batches) expect(b.events.filter(e => e.name === 'FlagsSet')).toHaveLength(MESSAGES);
    };

    it('IMAP goes on while nothing is read; once it reads again, every batch arrives whole and in order', async () => {
        const imap = await dovecot.imap(USER);
        try {
            await imap.mailboxOpen('INBOX');
            await store(imap, STORES, '$k');
            await resumeAndExpect(STORES, 'every STORE batch');
            expect(dovecot.log).not.toMatch(/Error:|Fatal:|Panic:/);
        } finally {
            await imap.logout();
        }
    });

    // Dovecot 2.4 ends an LMTP process with its connection (restart_request_count = 1) and an imap
    // process ends at LOGOUT: the driver then flushes once, bounded by its timeout. What the kernel
    // took survives the process; what it did not was lost, without a gap to show it (no later
    // batch of that proc). The driver asks for a send buffer as large as its own (Linux caps it at
    // net.core.wmem_max and doubles what it grants) and sends each batch on the next ioloop turn
    // whatever poll() says (it calls a unix socket writable only while a quarter of its buffer or
    // less is in use): 3 batches of ~85 KB, more than the default buffer holds, wait in the kernel
    // for a bridge that reads late (with a 4 MB cap 26 of them do, 30 do not).
    it('a process that ends while nothing is read: its last batches wait in the kernel and arrive', async () => {
        paused = true;
        held.clear();
        batches.length = 0;
        const imap = await dovecot.imap(USER);
        await imap.mailboxOpen('INBOX');
        await store(imap, EXIT_STORES, '$e');
        await imap.logout();
        const imapProcesses = () => processTree(dovecot.pid!).filter(p => /^dovecot\/imap(?!-)/.test(p.cmd));
        await waitFor(() => imapProcesses().length === 0, 10_000, 'the imap process to end');
        await resumeAndExpect(EXIT_STORES, 'every batch of the ended process');
    });
});
