// Resolve and publish end to end: real memcached, real Dovecot with the hook, real nanomsg.
// An OpenChange-format resolver record (bytes written here from the documented layout, not with
// the codec under test) gets the byte-exact NDR newmail payload for an LMTP delivery; a vmbridge
// subscriber registered in the same memcached gets every event type from LMTP and IMAP actions.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import memjs from 'memjs';
import nano, { type Socket } from 'nanomsg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribe } from '../../src/client/subscribe.js';
import type { VmEvent } from '../../src/events/event.js';
import { startBridge, Subscriber, type TestBridge } from '../helpers/bridge.js';
import { hookFragment, type HookFragment } from '../helpers/hook-fragment.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { startMemcached, type TestMemcached } from '../helpers/memcached.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort, waitFor } from '../helpers/net.js';
import { busUrl } from '../../src/publish/bus-address.js';

const ROOT = path.resolve(__dirname, '../..');
const VOICEMAIL = readFileSync(path.join(ROOT, 'test/fixtures/messages/asterisk-voicemail.eml'));
const TOKEN = 'openchange-test-token-0123456789abcdef';
const USER = 'alice@example.org';

/** u8 version=1, u32 max_count, u32 count, then NUL-terminated URLs — little-endian, no padding. */
function resolverRecord(urls: string[]): Buffer {
    const head = Buffer.alloc(9);
    head.writeUInt8(1, 0);
    head.writeUInt32LE(urls.length, 1);
    head.writeUInt32LE(urls.length, 5);
    return Buffer.concat([head, ...urls.map(u => Buffer.from(u + '\0', 'ascii'))]);
}

describe('OpenChange-compatible push and vmbridge subscribers, end to end', () => {
    let memcached: TestMemcached;
    let dovecot: TestDovecot;
    let vmb: TestBridge;
    let pull: Socket;
    const frames: Buffer[] = [];
    const events: VmEvent[] = [];
    const abort = new AbortController();

    let frag: HookFragment | undefined;
    beforeAll(async () => {
        memcached = await startMemcached();
        const ingest = `127.0.0.1:${await freePort()}`;
        frag = hookFragment(['--ingest', ingest, '--ingest-token', TOKEN]); // key file in a temp dir of its own
        dovecot = await startDovecot({ extraConfig: frag.fragment });
        vmb = await startBridge({ deliver: dovecot.lmtpUrl, ingest, ingestToken: TOKEN, resolver: memcached.resolver, resolverCn: 'username' });
        // The bridge waits for Dovecot's uid of its deliveries once it has heard from the hook: let it hear once (bob).
        const warm = new Subscriber(busUrl(vmb.config), ['bob@example.org\t']);
        await warm.ready(vmb.bridge, 'bob@example.org');
        const bob = await dovecot.imap('bob@example.org');
        await bob.append('INBOX', VOICEMAIL).finally(() => bob.logout().catch(() => undefined));
        await warm.waitFor(evs => evs.some(e => e.type === 'newmail'), 'hook heard');
        warm.close();

        // An OpenChange session: binds PULL and registers its URL under resolver:<cn>.
        const url = `tcp://127.0.0.1:${await freePort()}`;
        pull = nano.socket('pull');
        pull.on('data', (b: Buffer) => frames.push(b));
        pull.bind(url);
        const mc = memjs.Client.create(memcached.server, { logger: { log: () => undefined } });
        await mc.set('resolver:alice', resolverRecord([url]), {});
        mc.close();

        // A vmbridge subscriber in the same memcached.
        const stream = subscribe({ resolver: memcached.resolver, user: USER, bind: `tcp://127.0.0.1:${await freePort()}`, signal: abort.signal, ttlSec: 30 });
        await stream.ready;
        void (async () => {
            for await (const ev of stream) events.push(ev);
        })().catch(() => undefined);
    });

    afterAll(async () => {
        abort.abort();
        pull?.close();
        await vmb?.stop();
        await dovecot?.destroy();
        frag?.cleanup();
        await memcached?.stop();
    });

    it('pushes the documented NDR newmail payload, with Dovecot uid, for an LMTP delivery', async () => {
        const r = await send(vmb.lmtpPort, 'pbx@example.org', [USER], VOICEMAIL);
        expect(r.final.map(f => f.code)).toEqual([250]);
        await waitFor(() => frames.length >= 1, 10_000, 'NDR frame');
        const expected = Buffer.concat([Buffer.from([0x01, 0x02, 0x00]), Buffer.from('sogo\0' + '1.eml\0' + 'INBOX\0', 'ascii'), Buffer.from([0x2e])]);
        expect(frames[0].toString('hex')).toBe(expected.toString('hex'));
        await waitFor(() => events.some(e => e.type === 'newmail'), 10_000, 'subscriber newmail');
        expect(events.find(e => e.type === 'newmail')).toMatchObject({ user: USER, uid: 1, class: 'voicemail' });
    });

    it('delivers flag, move and delete from IMAP actions to the vmbridge subscriber (never to OpenChange)', async () => {
        const c = await dovecot.imap(USER);
        await c.mailboxOpen('INBOX');
        await c.messageFlagsAdd('1', ['\\Seen'], { uid: true });
        await c.messageMove('1', 'Old', { uid: true });
        await c.mailboxOpen('Old');
        await c.messageDelete('1', { uid: true });
        await c.logout();
        await waitFor(() => ['flag', 'move', 'delete'].every(t => events.some(e => e.type === t)), 10_000, 'flag, move, delete');
        const types = events.map(e => e.type);
        expect(types.indexOf('flag')).toBeLessThan(types.indexOf('move'));
        expect(types.indexOf('move')).toBeLessThan(types.indexOf('delete'));
        const seqs = events.map(e => e.seq ?? 0);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(frames).toHaveLength(1); // OpenChange acts on NewMail only: nothing else is pushed to it
    });
});
