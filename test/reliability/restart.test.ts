// Restarts lose nothing (embedded default: memory resolver, state in --state-dir): a real `serve`
// process with real Dovecot and its Lua hook is stopped and started again. Seqs continue, the uid
// index still gives flag events their class/voicemail/Message-ID, `listen --since` across the
// restart gives every event once, SIGTERM publishes and journals what was held, and a lost state
// directory gives an older cursor a `reset`, never a silent skip.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hookFragment } from '../helpers/hook-fragment.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/client/listen.js';
import { httpReplay } from '../../src/client/replay.js';
import type { EventStream } from '../../src/client/stream.js';
import type { VmEvent } from '../../src/events/event.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort, REPLAY_TOKEN, waitFor } from '../helpers/net.js';
import { take } from '../catchup/util.js';
import { ChildBridge, ROOT } from './child-bridge.js';
import { ofType } from '../helpers/events.js';

const cleanups: (() => void)[] = []; // key files of hookFragment()
const USER = 'alice@example.org';
const TOKEN = 'restart-test-token-0123456789abcdef';
const VOICEMAIL = readFileSync(path.join(ROOT, 'test/fixtures/messages/asterisk-voicemail.eml'));
const PLAIN = readFileSync(path.join(ROOT, 'test/fixtures/messages/plain.eml'));

describe('restarts of the embedded default', () => {
    let dovecot: TestDovecot;
    let vmb: ChildBridge;
    let stateDir: string;
    let replayUrl: string;
    let publish: string;
    const streams: EventStream[] = [];
    let journal: (since: number) => Promise<VmEvent[]>;
    let base: number;

    beforeAll(async () => {
        const ingest = `127.0.0.1:${await freePort()}`;
        const replayPort = await freePort();
        replayUrl = `http://127.0.0.1:${replayPort}`;
        stateDir = mkdtempSync(path.join(tmpdir(), 'vmb-restart-'));
        publish = `ipc://${stateDir}/bus.sock`;
        const frag = hookFragment(['--ingest', ingest, '--ingest-token', TOKEN]); // key file in a temp dir of its own
        cleanups.push(frag.cleanup);
        const fragment = frag.fragment;
        dovecot = await startDovecot({ extraConfig: fragment });
        // A long coalescing window: events after the first of a burst are held (SIGTERM test).
        vmb = await new ChildBridge({
            deliver: dovecot.lmtpUrl,
            ingest,
            ingestToken: TOKEN,
            stateDir,
            replay: `127.0.0.1:${replayPort}`,
            publish,
            coalesceWindow: '8000',
            coalesceMaxHold: '8000'
        }).start();
        journal = httpReplay(replayUrl, USER, REPLAY_TOKEN);
        base = (await journal(Number.MAX_SAFE_INTEGER))[0].seq!;
    }, 60_000);

    afterAll(async () => {
        for (const s of streams) await s.close();
        await vmb?.stop();
        await dovecot?.destroy();
        for (const done of cleanups.splice(0)) done();
        rmSync(stateDir, { recursive: true, force: true });
    });

    const journaled = async (n: number, what: string): Promise<VmEvent[]> =>
        waitFor(
            async () => {
                const evs = await journal(base).catch((): VmEvent[] => []);
                return evs.length >= n && evs;
            },
            15_000,
            what
        );

    async function flag(uid: number | string, keyword: string): Promise<void> {
        const c = await dovecot.imap(USER);
        await c.mailboxOpen('INBOX');
        await c.messageFlagsAdd(String(uid), [keyword], { uid: true });
        await c.logout();
    }

    it('continues seqs and keeps the uid metadata across SIGTERM + start; listen --since gives every event once', async () => {
        // A plain message first: once the bridge has heard the hook, the voicemail's newmail joins
        // Dovecot's MessageNew (uid) and the index learns its class (the join itself: events/).
        expect((await send(vmb.lmtpPort, 'mta@example.org', [USER], PLAIN)).final.map(f => f.code)).toEqual([250]);
        await journaled(1, 'warm-up newmail');
        expect((await send(vmb.lmtpPort, 'pbx@example.org', [USER], VOICEMAIL)).final.map(f => f.code)).toEqual([250]);
        const newmail = await waitFor(async () => (await journal(base)).filter(ofType('newmail')).find(e => e.class === 'voicemail' && e.uid), 15_000, 'voicemail newmail');
        await flag(newmail.uid!, '\\Seen');
        const before = await waitFor(
            async () => {
                const evs = await journal(base);
                return evs.some(e => e.type === 'flag') && evs;
            },
            15_000,
            'flag journaled'
        );
        expect(before.find(e => e.type === 'flag')).toMatchObject({ uid: newmail.uid, class: 'voicemail', messageId: newmail.messageId });

        await vmb.stop(); // SIGTERM
        await vmb.start();
        await flag(newmail.uid!, '\\Flagged');
        const after = await waitFor(
            async () => {
                const evs = await journal(base);
                return evs.some(e => e.type === 'flag' && e.flags.set.includes('\\Flagged')) && evs;
            },
            15_000,
            'flag after restart'
        );
        expect(after.map(e => e.seq)).toEqual(after.map((_, i) => base + 1 + i)); // continues, never 1 again
        expect(after.at(-1)).toMatchObject({ type: 'flag', uid: newmail.uid, class: 'voicemail', messageId: newmail.messageId, voicemail: newmail.voicemail });
        const mark = before.at(-1)!.seq!;
        // A listener that had seen only the newmail resumes across the restart: each event once.
        const stream = listen({ connect: publish, user: USER, since: base + 1, replay: replayUrl, replayToken: REPLAY_TOKEN, checkMs: 0 });
        streams.push(stream);
        await stream.ready;
        const got = await take(stream, after.length - 1);
        expect(got.map(e => e.id)).toEqual(after.slice(1).map(e => e.id));
        expect(new Set(got.map(e => e.id)).size).toBe(got.length);
        expect(got.some(e => e.seq! > mark) && got.some(e => e.seq! <= mark)).toBe(true); // spans the restart
    }, 60_000);

    it('SIGTERM publishes and journals an event the coalescer still held', async () => {
        const live = listen({ connect: publish, user: USER });
        streams.push(live);
        const seen: VmEvent[] = [];
        void (async () => {
            for await (const ev of live) seen.push(ev);
        })();
        // The first event of a burst goes out at once: wait until this listener has joined the bus.
        const first = (await journal(base)).length;
        await flag(1, '$probe');
        await waitFor(() => seen.length > 0, 20_000, 'live listener joined');
        const held = (await journaled(first + 1, 'probe journaled')).length;
        // This one falls into the coalescing window (8 s): held, not yet sequenced.
        const accepted = await acceptedBatches(vmb.adminPort);
        await flag(1, '$held');
        await waitFor(async () => (await acceptedBatches(vmb.adminPort)) > accepted, 10_000, 'hook batch reached the bridge');
        expect((await journal(base)).length).toBe(held); // still held
        await vmb.stop();
        expect(seen.some(e => e.type === 'flag' && e.flags.set.includes('$held'))).toBe(true);
        await vmb.start();
        const all = await journal(base);
        expect(all).toHaveLength(held + 1);
        expect(all.at(-1)).toMatchObject({ type: 'flag', seq: base + held + 1, flags: { set: ['$held'] } });
    }, 60_000);

    it('a lost state directory gives an older cursor a reset, never a silent skip', async () => {
        const last = (await journal(base)).at(-1)!.seq!;
        await vmb.stop();
        rmSync(stateDir, { recursive: true, force: true });
        await vmb.start();
        await flag(1, '$afterLoss');
        const fresh = httpReplay(replayUrl, USER, REPLAY_TOKEN);
        const newest = await waitFor(
            async () => {
                const [r] = await fresh(Number.MAX_SAFE_INTEGER);
                return r.seq! > last && r.seq;
            },
            15_000,
            'event after the loss'
        );
        expect(newest).toBeGreaterThan(last); // the new store numbers above the old one
        // The old cursor gets a reset to the new store's start, then the new store's events.
        const answer = await fresh(last);
        expect(answer[0]).toMatchObject({ type: 'reset', reason: 'cursor-too-old' });
        expect(answer.slice(1).every(e => e.seq! > answer[0].seq!)).toBe(true);
        expect(answer.slice(1).some(e => e.type === 'flag' && e.flags.set.includes('$afterLoss'))).toBe(true);
        // The listen client hands the consumer that reset first, then the new events.
        const stream = listen({ connect: publish, user: USER, since: last, replay: replayUrl, replayToken: REPLAY_TOKEN, checkMs: 0 });
        streams.push(stream);
        const got = await take(stream, answer.length);
        expect(got.map(e => e.id)).toEqual(answer.map(e => e.id));
    }, 60_000);
});

/** The bridge's count of accepted hook batches (admin /metrics). */
async function acceptedBatches(adminPort: number): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    return Number(/^vmbridge_ingest_batches_total\{result="accepted"\} (\d+)/m.exec(text)?.[1] ?? 0);
}
