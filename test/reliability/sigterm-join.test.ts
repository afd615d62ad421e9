// SIGTERM while a delivery's newmail still waits for Dovecot's MessageNew (--hook yes, a long join
// window, and a Dovecot whose hook never reports): a real `serve` process got its 250 from Dovecot,
// is told to stop at once, and must still publish that newmail on the bus and journal it before
// it exits — exactly once, also after the next start.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpReplay } from '../../src/client/replay.js';
import { listen } from '../../src/client/listen.js';
import type { EventStream } from '../../src/client/stream.js';
import type { VmEvent } from '../../src/events/event.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { send } from '../helpers/lmtp-client.js';
import { freePort, REPLAY_TOKEN, waitFor } from '../helpers/net.js';
import { ChildBridge, ROOT } from './child-bridge.js';

const USER = 'alice@example.org';
const VOICEMAIL = readFileSync(path.join(ROOT, 'test/fixtures/messages/asterisk-voicemail.eml'));

describe('SIGTERM with a newmail waiting for its join', () => {
    let dovecot: TestDovecot;
    let vmb: ChildBridge;
    let stateDir: string;
    let stream: EventStream | undefined;
    let replayUrl: string;

    beforeAll(async () => {
        stateDir = mkdtempSync(path.join(tmpdir(), 'vmb-sigterm-'));
        dovecot = await startDovecot(); // no hook: MessageNew never comes
        const replayPort = await freePort();
        replayUrl = `http://127.0.0.1:${replayPort}`;
        vmb = await new ChildBridge({
            deliver: dovecot.lmtpUrl,
            stateDir,
            publish: `ipc://${stateDir}/bus.sock`,
            replay: `127.0.0.1:${replayPort}`,
            hook: 'yes',
            hookJoinWindow: '600000'
        }).start();
    }, 60_000);

    afterAll(async () => {
        await stream?.close();
        await vmb?.stop();
        await dovecot?.destroy();
        rmSync(stateDir, { recursive: true, force: true });
    });

    it('publishes and journals the held newmail before exit, once', async () => {
        stream = listen({ connect: `ipc://${stateDir}/bus.sock`, user: USER });
        await stream.ready;
        const seen: VmEvent[] = [];
        void (async () => {
            for await (const ev of stream!) seen.push(ev);
        })();
        const r = await send(vmb.lmtpPort, 'pbx@example.org', [USER], VOICEMAIL);
        expect(r.final.map(f => f.code)).toEqual([250]);
        expect(seen.filter(e => e.type === 'newmail')).toHaveLength(0); // held: the join window is 10 minutes
        await vmb.stop(); // SIGTERM; resolves once the process has exited
        const live = await waitFor(() => seen.find(e => e.type === 'newmail'), 10_000, 'newmail on the bus');
        expect(live).toMatchObject({ user: USER, class: 'voicemail', mailbox: 'INBOX' });
        await vmb.start();
        const journaled = (await httpReplay(replayUrl, USER, REPLAY_TOKEN)(0)).filter(e => e.type === 'newmail');
        expect(journaled.map(e => e.id)).toEqual([live.id]);
        expect(seen.filter(e => e.type === 'newmail')).toHaveLength(1);
    }, 60_000);
});
