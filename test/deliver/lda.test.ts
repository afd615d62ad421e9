// lda target against a real dovecot-lda and Dovecot: bytes unchanged, exit codes as
// per-recipient replies, failures and hangs as 451, abort stores nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliverer } from '../../src/deliver/index.js';
import { exitOutcome } from '../../src/deliver/lda.js';
import { parseLdaTarget } from '../../src/deliver/target.js';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.js';
import { abortMidData, AFTER_ABORT, CRLF_MESSAGE, deliver, freeze, withoutTrace } from './util.js';
import { deliverTarget } from '../../src/config-values.js';

let dovecot: TestDovecot;
beforeAll(async () => {
    dovecot = await startDovecot();
});
afterAll(async () => {
    await dovecot?.destroy();
});

const count = async (user: string) => (await dovecot.messages(user)).length;

describe('lda target', () => {
    it('parses the path and extra arguments', () => {
        expect(parseLdaTarget('lda:/usr/lib/dovecot/dovecot-lda?-c /etc/x.conf -o a=b')).toEqual({
            path: '/usr/lib/dovecot/dovecot-lda',
            args: ['-c', '/etc/x.conf', '-o', 'a=b']
        });
        expect(parseLdaTarget('lda:/usr/lib/dovecot/dovecot-lda')).toEqual({ path: '/usr/lib/dovecot/dovecot-lda', args: [] });
    });

    it('maps exit codes as the design says', () => {
        expect(exitOutcome(0, null, '')).toMatchObject({ ok: true });
        expect(exitOutcome(67, null, 'x')).toMatchObject({ ok: false, error: { responseCode: 550, enhanced: '5.1.1' } });
        expect(exitOutcome(77, null, '')).toMatchObject({ ok: false, error: { responseCode: 554, enhanced: '5.7.1' } });
        expect(exitOutcome(75, null, '')).toMatchObject({ ok: false, error: { responseCode: 451, enhanced: '4.2.0' } });
        expect(exitOutcome(1, null, '')).toMatchObject({ ok: false, error: { responseCode: 451 } });
        expect(exitOutcome(null, 'SIGSEGV', '')).toMatchObject({ ok: false, error: { responseCode: 451 } });
    });

    it('stores the message byte for byte for every recipient', async () => {
        const d = createDeliverer(deliverTarget.parse(dovecot.ldaTarget));
        const before = await count('bob@example.org');
        const sent = await deliver(d, 'alice@example.org', ['bob@example.org', 'carol@example.org'], CRLF_MESSAGE);
        expect(sent.outcomes).toEqual([
            { ok: true, text: '2.0.0 Ok: delivered', mailbox: 'INBOX' },
            { ok: true, text: '2.0.0 Ok: delivered', mailbox: 'INBOX' }
        ]);
        const bob = await dovecot.messages('bob@example.org');
        expect(bob).toHaveLength(before + 1);
        expect(withoutTrace(bob[bob.length - 1].source).equals(CRLF_MESSAGE)).toBe(true);
        const carol = await dovecot.messages('carol@example.org');
        expect(withoutTrace(carol[carol.length - 1].source).equals(CRLF_MESSAGE)).toBe(true);
    });

    it('answers per recipient: 250 / 550 5.1.1 for an unknown user / 250', async () => {
        const d = createDeliverer(deliverTarget.parse(dovecot.ldaTarget));
        const sent = await deliver(d, '', ['alice@example.org', 'nobody@example.org', 'carol@example.org'], CRLF_MESSAGE);
        expect(sent.rcpt).toEqual([true, true, true]); // lda has no RCPT-time verdict
        expect(sent.outcomes.map(o => (o.ok ? 250 : o.error.responseCode))).toEqual([250, 550, 250]);
        expect(sent.outcomes[1]).toMatchObject({ error: { enhanced: '5.1.1' } });
    });

    it('Dovecot stopped: 451; after restart a retry is stored once', async () => {
        const d = createDeliverer(deliverTarget.parse(dovecot.ldaTarget), { timeoutMs: 5000 });
        const before = await count('carol@example.org');
        await dovecot.stop();
        try {
            const down = await deliver(d, 'alice@example.org', ['carol@example.org'], CRLF_MESSAGE);
            expect(down.outcomes[0]).toMatchObject({ ok: false, error: { responseCode: 451 } });
        } finally {
            await dovecot.start();
        }
        const retry = await deliver(d, 'alice@example.org', ['carol@example.org'], CRLF_MESSAGE);
        expect(retry.outcomes[0].ok).toBe(true);
        expect(await count('carol@example.org')).toBe(before + 1);
    });

    it('a frozen Dovecot (SIGSTOP) gives 451 after the timeout', async () => {
        const d = createDeliverer(deliverTarget.parse(dovecot.ldaTarget), { timeoutMs: 500 });
        const before = await count('alice@example.org');
        const thaw = await freeze(dovecot.pid!);
        try {
            const sent = await deliver(d, 'bob@example.org', ['alice@example.org'], CRLF_MESSAGE);
            expect(sent.outcomes[0]).toMatchObject({ ok: false, error: { responseCode: 451 } });
        } finally {
            thaw();
        }
        expect(await count('alice@example.org')).toBe(before);
    });

    it('abort() mid-DATA stores nothing', async () => {
        const d = createDeliverer(deliverTarget.parse(dovecot.ldaTarget));
        const before = await count('bob@example.org');
        expect((await abortMidData(d, 'bob@example.org'))[0]).toMatchObject({ ok: false, error: { responseCode: 451 } });
        expect((await deliver(d, 'alice@example.org', ['bob@example.org'], AFTER_ABORT)).outcomes[0].ok).toBe(true);
        const bob = await dovecot.messages('bob@example.org');
        expect(bob).toHaveLength(before + 1);
        expect(withoutTrace(bob[bob.length - 1].source).equals(AFTER_ABORT)).toBe(true);
    });
});
