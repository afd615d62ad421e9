// The client listener against a real Dovecot with the Lua hook installed: deliveries through the
// bridge, per-user SSE and WebSocket streams, MWI counts, Basic (Dovecot's own login) and app
// tokens (revocation by the CLI seen by serve), refusals (rate limiting: auth.test.ts, since Dovecot's own auth penalty
// on the test's address would slow repeated failures past the login timeout).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { registry } from '../../src/metrics.js';
import { TokenStore } from '../../src/http/tokens.js';
import { startBridge, type TestBridge } from '../helpers/bridge.js';
import { PASSWORD, type TestDovecot } from '../helpers/dovecot.js';
import { dovecotOf, hookFragmentFor, ROOT_BUILD_TIMEOUT } from '../helpers/dovecot24.js';
import type { HookFragment } from '../helpers/hook-fragment.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort, waitFor } from '../helpers/net.js';
import { basic, bearer, get, SseClient, WsClient } from './clients.js';

const ROOT = path.resolve(__dirname, '../..');
const VOICEMAIL = readFileSync(path.join(ROOT, 'test/fixtures/messages/asterisk-voicemail.eml'));
const PLAIN = readFileSync(path.join(ROOT, 'test/fixtures/messages/plain.eml'));
const TOKEN = 'http-test-ingest-token-0123456789ab';
const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';

let dovecot: TestDovecot;
let vmb: TestBridge;
let frag: HookFragment;
let base = '';
const open: { close(): void }[] = [];
const aliceAuth = basic(ALICE, PASSWORD);

/** newmail events in alice's journal (through the client listener's own replay endpoint). */
async function journal(auth: string, since = 0, user = ''): Promise<{ seq?: number; type: string; user: string }[]> {
    const r = await get(base, `/v1/replay?since=${since}${user ? `&user=${encodeURIComponent(user)}` : ''}`, auth);
    expect(r.status).toBe(200);
    return r.body.trim()
        ? r.body
              .trim()
              .split('\n')
              .map(l => JSON.parse(l))
        : [];
}

/** The journal after `since` once the stream's seqs end where it ends (polled, bounded). */
async function settled(auth: string, since: number, seqs: () => number[]): Promise<{ seq?: number }[]> {
    return waitFor(
        async () => {
            const j = await journal(auth, since);
            const got = seqs();
            return j.length > 0 && got.length >= j.length && got[got.length - 1] === j[j.length - 1].seq ? j : undefined;
        },
        10_000,
        'the stream caught up with the journal'
    );
}

async function deliver(to: string, msg: Buffer): Promise<void> {
    const r = await send(vmb.lmtpPort, 'pbx@example.org', [to], msg);
    expect(r.final.map(f => f.code)).toEqual([250]);
}

beforeAll(async () => {
    const ingest = `127.0.0.1:${await freePort()}`;
    frag = await hookFragmentFor('2.3', ['--ingest', ingest, '--ingest-token', TOKEN]);
    dovecot = await dovecotOf('2.3', { extraConfig: frag.fragment }).start();
    const http = `127.0.0.1:${await freePort()}`;
    vmb = await startBridge({ deliver: dovecot.lmtpUrl, ingest, ingestToken: TOKEN, imap: dovecot.imapUrl, hook: 'yes', http });
    base = `http://${http}`;
}, ROOT_BUILD_TIMEOUT);

afterAll(async () => {
    for (const c of open) c.close();
    await vmb?.stop();
    await dovecot?.destroy();
    frag?.cleanup();
});

/** vmbridge_subscribers{transport} as a scrape reads it. */
async function subscribers(transport: string): Promise<number> {
    const m = (await registry.getMetricsAsJSON()).find(x => x.name === 'vmbridge_subscribers');
    return Number(m?.values.find(v => v.labels.transport === transport)?.value);
}

function sse(path: string, auth: string, lastEventId?: number): SseClient {
    const c = new SseClient(base, path, auth, lastEventId);
    open.push(c);
    return c;
}

describe('client listener against Dovecot', () => {
    let lastSeen = 0;

    it("alice's SSE shows her events and never bob's", async () => {
        const a = sse('/v1/events', aliceAuth);
        const b = sse('/v1/events', basic(BOB, PASSWORD));
        await Promise.all([a.ready(), b.ready()]);
        expect([a.status, b.status]).toEqual([200, 200]);
        expect(await subscribers('http')).toBe(2); // the streams are counted per transport
        await deliver(BOB, PLAIN);
        await deliver(ALICE, VOICEMAIL);
        await waitFor(() => a.events('newmail').length >= 1 && a.events('mwi').length >= 1, 10_000, "alice's newmail and mwi");
        await waitFor(() => b.events('newmail').length >= 1, 10_000, "bob's newmail");
        // bob's delivery went first: had it leaked, it would be in alice's stream by now
        expect(a.events().every(e => e.user === ALICE)).toBe(true);
        expect(b.events().every(e => e.user === BOB)).toBe(true);
        const nm = a.frames.find(f => f.event === 'newmail')!;
        expect(nm.id).toBe(nm.data.seq);
        expect(nm.data).toMatchObject({ class: 'voicemail', voicemail: { mailbox: '1000' } });
        lastSeen = Math.max(...a.frames.map(f => f.id ?? 0));
        a.close();
        b.close();
    });

    it('reconnecting with Last-Event-ID after missed events gets each exactly once, then live', async () => {
        await deliver(ALICE, VOICEMAIL);
        await deliver(ALICE, VOICEMAIL);
        // both stored and journaled while nobody listened
        await waitFor(async () => (await journal(aliceAuth, lastSeen)).filter(e => e.type === 'newmail').length >= 2, 10_000, 'journal has the missed newmail');
        const c = sse('/v1/events', aliceAuth, lastSeen);
        await c.ready();
        await deliver(ALICE, VOICEMAIL); // lands while or after the replay: the seam
        await waitFor(() => c.events('newmail').length >= 3, 10_000, 'three newmail');
        // settled: the stream has exactly what the journal has after the cursor (late mwi events included)
        const missed = await settled(aliceAuth, lastSeen, () => c.frames.map(f => f.id!));
        const ids = c.frames.map(f => f.id!);
        expect(new Set(ids).size).toBe(ids.length); // no duplicate
        expect(ids).toEqual(missed.map(e => e.seq)); // no gap, journal order
        expect(ids[0]).toBe(lastSeen + 1);
        lastSeen = ids[ids.length - 1];
        c.close();
    });

    it('the WebSocket stream (subprotocol vmbridge.events.v1) replays from {"since":N} exactly once', async () => {
        const from = Math.max(0, lastSeen - 3);
        const w = new WsClient(`ws://${base.slice(7)}/v1/ws`, aliceAuth, { since: from });
        open.push(w);
        await w.open();
        expect(w.protocol).toBe('vmbridge.events.v1');
        await deliver(ALICE, VOICEMAIL);
        await waitFor(() => w.events.some(e => e.type === 'newmail' && (e.seq ?? 0) > lastSeen), 10_000, 'live newmail over ws');
        const all = await settled(aliceAuth, from, () => w.events.map(e => e.seq!));
        expect(w.events.map(e => e.seq)).toEqual(all.map(e => e.seq));
        expect(w.events.every(e => e.user === ALICE)).toBe(true);
        w.close();
    });

    it('/v1/mwi gives the current counts per box', async () => {
        // five voicemails to box 1000, none read
        const r = await waitFor(
            async () => {
                const g = await get(base, '/v1/mwi', aliceAuth);
                const body = JSON.parse(g.body) as { user: string; boxes: { mailbox: string; new: number; old: number }[] };
                return body.boxes.find(b => b.new === 5) && body;
            },
            10_000,
            'box 1000 with 5 new'
        );
        expect(r.user).toBe(ALICE);
        expect(r.boxes).toEqual([expect.objectContaining({ mailbox: expect.stringMatching(/^1000/), new: 5, old: 0 })]);
        const bob = JSON.parse((await get(base, '/v1/mwi', basic(BOB, PASSWORD))).body);
        expect(bob.boxes).toEqual([]);
    });

    it('a wrong password and an unknown user are refused alike, with a challenge', async () => {
        const wrong = await get(base, '/v1/events', basic(ALICE, 'not-the-password'));
        const nobody = await get(base, '/v1/mwi', basic('nobody@example.org', PASSWORD));
        const none = await get(base, '/v1/mwi');
        for (const r of [wrong, nobody, none]) {
            expect(r.status).toBe(401);
            expect(r.headers['www-authenticate']).toMatch(/^Basic realm="vmbridge"/);
        }
        expect(wrong.body).toBe(nobody.body);
    });

    it('an app token reads its user; ?user= of another user is 403 unless the token is admin', async () => {
        const store = new TokenStore(vmb.config.stateDir); // as `vmbridge token create` in another process
        const { token } = store.create(ALICE);
        const admin = store.create('ops', { admin: true }).token;
        store.close();
        expect((await get(base, '/v1/mwi', bearer(token))).status).toBe(200);
        expect((await get(base, `/v1/replay?since=0&user=${BOB}`, bearer(token))).status).toBe(403);
        expect((await get(base, `/v1/replay?since=0&user=${BOB}`, aliceAuth)).status).toBe(403);
        const bobs = await journal(bearer(admin), 0, BOB);
        expect(bobs.length).toBeGreaterThan(0);
        expect(bobs.every(e => e.user === BOB)).toBe(true);
    });

    it('a token revoked by the CLI is refused within 1 s', async () => {
        const store = new TokenStore(vmb.config.stateDir);
        const { token, info } = store.create(ALICE);
        store.close();
        expect((await get(base, '/v1/mwi', bearer(token))).status).toBe(200);
        expect(await main(['node', 'vmbridge', 'token', 'revoke', info.id, '--state-dir', vmb.config.stateDir])).toBe(0);
        await waitFor(async () => (await get(base, '/v1/mwi', bearer(token))).status === 401, 1000, 'revoked token refused');
    });

    it('a user manages their own webhooks at /v1/webhooks; another user neither sees nor deletes them', async () => {
        const call = async (method: string, path: string, auth: string, body?: unknown) => {
            const r = await fetch(base + path, {
                method,
                headers: { authorization: auth, 'content-type': 'application/json' },
                body: body === undefined ? undefined : JSON.stringify(body)
            });
            return { status: r.status, json: r.status === 204 ? undefined : await r.json() };
        };
        const bobAuth = basic(BOB, PASSWORD);
        expect((await call('POST', '/v1/webhooks', aliceAuth, { url: 'http://127.0.0.1:9/x' })).status).toBe(400); // private target refused
        const made = await call('POST', '/v1/webhooks', aliceAuth, { url: 'https://hooks.example.com/vm', types: ['newmail'] });
        expect(made.status).toBe(201);
        expect(made.json.secret).toBeTruthy();
        const id = made.json.id as string;
        expect((await call('GET', '/v1/webhooks', aliceAuth)).json.webhooks.map((w: { id: string }) => w.id)).toEqual([id]);
        expect((await call('GET', '/v1/webhooks', bobAuth)).json.webhooks).toEqual([]);
        expect((await call('DELETE', `/v1/webhooks/${id}`, bobAuth)).status).toBe(404);
        expect((await call('DELETE', `/v1/webhooks/${id}`, basic(ALICE, 'wrong'))).status).toBe(401);
        expect((await call('DELETE', `/v1/webhooks/${id}`, aliceAuth)).status).toBe(204);
        expect((await call('GET', '/v1/webhooks', aliceAuth)).json.webhooks).toEqual([]);
    });
});
