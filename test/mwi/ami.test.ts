// The AMI client against a test server speaking the manager protocol: actions with the right
// fields and ActionIDs, login failure reported once, reconnect after the server restarts.
import { afterEach, describe, expect, it } from 'vitest';
import { registry } from '../../src/metrics.js';
import { AmiClient, decodeAmi, parseAmiUrl, type AmiMessage } from '../../src/mwi/ami.js';
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

/** vmbridge_ami_actions_total{action,result} as /metrics shows it. */
async function amiMetric(action: string, result: string): Promise<number | undefined> {
    const m = (await registry.getSingleMetric('vmbridge_ami_actions_total')!.get()).values.find(v => v.labels.action === action && v.labels.result === result);
    return m?.value;
}

async function setup(opts: { secret?: string } = {}) {
    const server = await new FakeAmi().start();
    cleanup.push(() => server.stop());
    const { logger, records } = captureLogger();
    const url = opts.secret ? server.url.replace(':s3cret@', `:${opts.secret}@`) : server.url;
    const client = new AmiClient(parseAmiUrl(url), { logger, backoffMinMs: 20, backoffMaxMs: 200, timeoutMs: 2000 });
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

    it('logs in for call-class events (never Events: off), logs one info line with the banner version, passes events on', async () => {
        const { server, client, records } = await setup();
        const events: AmiMessage[] = [];
        client.onEvent(m => events.push(m));
        client.start();
        await waitFor(() => client.ready, 5000, 'login');
        expect(server.logins).toEqual(['call']);
        const connected = records.filter(r => r.level === 30 && /AMI connected/.test(r.msg));
        expect(connected).toHaveLength(1);
        expect(connected[0]).toMatchObject({ version: '9.0.0', msg: 'AMI connected (Asterisk Call Manager/9.0.0)' });
        expect(client.status()).toEqual({ connected: true, version: '9.0.0' });
        server.publish('1000@default', { new: 1, old: 2, urgent: 1 });
        await waitFor(() => events.length === 1, 5000, 'MessageWaiting');
        expect(events[0]).toMatchObject({ Event: 'MessageWaiting', Mailbox: '1000@default', Waiting: '0', New: '1', Old: '2' });
    });

    it('a refused action: warn log naming action, box and the manager.conf fix; metric; degraded until it works', async () => {
        const { server, client, logger, records } = await setup();
        const notifier = new AmiNotifier(client, 'refresh', logger);
        expect(await amiMetric('MWIUpdate', 'refused')).toBe(0); // every known series starts at zero
        const before = (await amiMetric('VoicemailRefresh', 'refused')) ?? 0;
        server.refuse('VoicemailRefresh');
        notifier.notify(box1000, { new: 1, old: 0, urgent: 0 });
        const warn = await waitFor(() => records.find(r => r.level === 40 && /refused/.test(r.msg)), 5000, 'warning');
        expect(warn).toMatchObject({ action: 'VoicemailRefresh', box: '1000@default', reason: 'Permission denied' });
        expect(warn.msg).toMatch(/VoicemailRefresh for 1000@default refused: Permission denied; .*"user" write class .*write = system,call,reporting,user/);
        expect(await amiMetric('VoicemailRefresh', 'refused')).toBe(before + 1);
        expect(notifier.health()).toMatchObject({
            status: 'degraded',
            connected: true,
            refused: [{ action: 'VoicemailRefresh', box: '1000@default', reason: 'Permission denied' }]
        });
        server.allow('VoicemailRefresh');
        notifier.notify(box1000, { new: 1, old: 0, urgent: 0 });
        await waitFor(() => notifier.health().status === 'ok', 5000, 'healthy again');
        expect(notifier.health()).toEqual({ status: 'ok', connected: true, version: '9.0.0' });
    });

    it('MWIUpdate without res_mwi_external_ami: the fix names the module or refresh mode', async () => {
        const { server, client, logger, records } = await setup();
        server.refuse('MWIUpdate', 'Invalid/unknown command');
        new AmiNotifier(client, 'mwiupdate', logger).notify(box1000, { new: 1, old: 0, urgent: 0 });
        const warn = await waitFor(() => records.find(r => r.level === 40 && /refused/.test(r.msg)), 5000, 'warning');
        expect(warn.fix).toMatch(/res_mwi_external_ami.*--ami-mode refresh/);
    });
});
