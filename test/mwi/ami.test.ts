// The AMI client against a test server speaking the manager protocol: actions with the right
// fields and ActionIDs, login failure reported once, reconnect after the server restarts.
import { afterEach, describe, expect, it } from 'vitest';
import { AmiClient, decodeAmi } from '../../src/mwi/ami.js';
import { AmiNotifier } from '../../src/mwi/ami-notifier.js';
import { makeBox } from '../../src/mwi/boxes.js';
import { waitFor } from '../helpers/net.js';
import { FakeAmi } from './fake-ami.js';
import { captureLogger } from './log-capture.js';

const box1000 = makeBox({ mailbox: '1000', context: 'default', user: 'alice@example.org' });
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(opts: { secret?: string } = {}) {
    const server = await new FakeAmi().start();
    cleanup.push(() => server.stop());
    const { logger, records } = captureLogger();
    const url = opts.secret ? server.url.replace(':s3cret@', `:${opts.secret}@`) : server.url;
    const client = new AmiClient(url, { logger, backoffMinMs: 20, backoffMaxMs: 200, timeoutMs: 2000 });
    cleanup.push(() => client.close());
    return { server, client, logger, records };
}

describe('AMI', () => {
    it('frames messages: blank-line terminated, CRLF or LF, partial input kept', () => {
        const { messages, rest } = decodeAmi('Response: Success\r\nActionID: 1\r\nMessage: ok\r\n\r\nEvent: X\n\nResponse: Su');
        expect(messages).toEqual([{ Response: 'Success', ActionID: '1', Message: 'ok' }, { Event: 'X' }]);
        expect(rest).toBe('Response: Su');
    });

    it('logs in and sends VoicemailRefresh (Context, Mailbox) correlated by ActionID', async () => {
        const { server, client, logger } = await setup();
        client.start();
        const response = await client.send({ Action: 'VoicemailRefresh', Context: 'default', Mailbox: '1000' });
        expect(response).toMatchObject({ Response: 'Success', Message: 'Refresh sent' });
        expect(server.actions).toHaveLength(1);
        expect(server.actions[0]).toEqual({ Action: 'VoicemailRefresh', Context: 'default', Mailbox: '1000', ActionID: response.ActionID });
        new AmiNotifier(client, 'refresh', logger).notify(box1000, { new: 2, old: 1, urgent: 0 });
        await waitFor(() => server.actions.length === 2, 5000, 'second action');
        expect(server.actions[1]).toMatchObject({ Action: 'VoicemailRefresh', Context: 'default', Mailbox: '1000' });
        expect(server.actions[1].ActionID).not.toBe(response.ActionID);
    });

    it('sends MWIUpdate (Mailbox ext@ctx, NewMessages incl. urgent, OldMessages) in mwiupdate mode', async () => {
        const { server, client, logger } = await setup();
        new AmiNotifier(client, 'mwiupdate', logger).notify(box1000, { new: 3, old: 2, urgent: 1 });
        await waitFor(() => server.actions.length === 1, 5000, 'MWIUpdate');
        expect(server.actions[0]).toMatchObject({ Action: 'MWIUpdate', Mailbox: '1000@default', NewMessages: '3', OldMessages: '2' });
        expect(server.actions[0].ActionID).toMatch(/^vmb-\d+$/);
    });

    it('reports a login failure clearly, once, and keeps retrying without sending actions', async () => {
        const { server, client, records } = await setup({ secret: 'wrong' });
        client.start();
        const pending = client.send({ Action: 'VoicemailRefresh', Context: 'default', Mailbox: '1000' }, 'k');
        await waitFor(() => server.loginAttempts >= 3, 5000, 'three login attempts');
        const failures = records.filter(r => r.level >= 50 && /AMI login failed/.test(r.msg));
        expect(failures).toHaveLength(1);
        expect(failures[0].msg).toMatch(/user vmbridge: Authentication failed/);
        expect(server.actions).toEqual([]);
        expect(client.ready).toBe(false);
        await client.close();
        await expect(pending).rejects.toThrow(/closed/);
    });

    it('reconnects after the server restarts and delivers only the latest queued action per box', async () => {
        const { server, client, records } = await setup();
        client.start();
        await client.send({ Action: 'MWIUpdate', Mailbox: '1000@default', NewMessages: '1', OldMessages: '0' }, '1000@default');
        const port = server.port;
        await server.stop();
        await waitFor(() => !client.ready, 5000, 'client to notice');
        const a = client.send({ Action: 'MWIUpdate', Mailbox: '1000@default', NewMessages: '2', OldMessages: '0' }, '1000@default');
        const b = client.send({ Action: 'MWIUpdate', Mailbox: '1000@default', NewMessages: '3', OldMessages: '0' }, '1000@default');
        const restarted = await new FakeAmi().start(port);
        cleanup.push(() => restarted.stop());
        const [ra, rb] = await Promise.all([a, b]);
        expect(ra.ActionID).toBe(rb.ActionID);
        expect(restarted.actions).toEqual([{ Action: 'MWIUpdate', Mailbox: '1000@default', NewMessages: '3', OldMessages: '0', ActionID: rb.ActionID }]);
        expect(records.filter(r => /AMI unavailable/.test(r.msg))).toHaveLength(1);
        expect(records.some(r => /AMI connected/.test(r.msg))).toBe(true);
    });
});
