// decide(): per-class actions by default and per user, reasons in 5xx texts, private messages
// relayed only when allowed, and configuration errors that name the option.
import { describe, expect, it } from 'vitest';
import type { Classification } from '../../src/classify/classify.js';
import { parseHeaders } from '../../src/classify/headers.js';
import { MessageActions, parseClassActions, parsePrivateHeader } from '../../src/intake/actions.js';
import { MESSAGE_CLASSES } from '../../src/events/event.js';

const plain = Buffer.from('From: a@example.com\r\nSubject: hi');
const privateMsg = Buffer.from('From: a@example.com\r\nSensitivity:   PRIVATE  \r\nSubject: hi');
const of = (cls: Classification['class']): Classification => ({ class: cls });
const SMART = { smartHost: 'smtp://127.0.0.1:2525' };

describe('message actions', () => {
    it('accepts everything when not configured', () => {
        const actions = new MessageActions();
        for (const cls of MESSAGE_CLASSES) expect(actions.decide(of(cls), privateMsg, 'alice')).toEqual({ action: 'accept' });
    });

    it('applies defaults per class and lets a user override them', () => {
        const actions = new MessageActions(
            parseClassActions(
                JSON.stringify({
                    default: { fax: 'reject', receipt: { relay: 'receipts@archive.example.com' } },
                    users: { alice: { fax: 'accept', voicemail: { relay: 'alice@exchange.example.com' } } }
                }),
                SMART
            )
        );
        const bobFax = actions.decide(of('fax'), plain, 'bob');
        expect(bobFax.action).toBe('reject');
        if (bobFax.action !== 'reject') return;
        expect([bobFax.error.responseCode, bobFax.error.enhanced]).toEqual([550, '5.7.1']);
        expect(bobFax.error.message).toBe('5.7.1 Message refused: fax messages are not accepted for this recipient');

        expect(actions.decide(of('fax'), plain, 'alice')).toEqual({ action: 'accept' });
        expect(actions.decide(of('voicemail'), plain, 'alice')).toEqual({ action: 'relay', to: 'alice@exchange.example.com' });
        expect(actions.decide(of('voicemail'), plain, 'bob')).toEqual({ action: 'accept' });
        expect(actions.decide(of('receipt'), plain, 'alice')).toEqual({ action: 'relay', to: 'receipts@archive.example.com' });
        expect(actions.decide(of('email'), parseHeaders(plain), 'carol')).toEqual({ action: 'accept' });
    });

    it('relays private messages only when allowed (Sensitivity: Private or the configured header)', () => {
        const config = { default: { voicemail: { relay: 'x@exchange.example.com' } } };
        const strict = new MessageActions(parseClassActions(config, SMART), parsePrivateHeader('X-Secure-Message: yes'));
        const refused = strict.decide(of('voicemail'), privateMsg, 'alice');
        expect(refused.action).toBe('reject');
        if (refused.action === 'reject') expect(refused.error.message).toMatch(/^5\.7\.1 .*private messages may not be relayed/);

        const secure = Buffer.from('X-Secure-Message: YES\r\n');
        expect(strict.decide(of('voicemail'), secure, 'alice').action).toBe('reject');
        expect(strict.decide(of('voicemail'), Buffer.from('X-Secure-Message: no\r\n'), 'alice')).toEqual({ action: 'relay', to: 'x@exchange.example.com' });
        expect(strict.decide(of('voicemail'), Buffer.from('Sensitivity: Personal\r\n'), 'alice').action).toBe('relay');
        // accepting (delivering locally) is never affected by the private mark
        expect(strict.decide(of('email'), privateMsg, 'alice')).toEqual({ action: 'accept' });

        const presence = new MessageActions(parseClassActions(config, SMART), parsePrivateHeader('X-Cisco-Secure'));
        expect(presence.decide(of('voicemail'), Buffer.from('X-Cisco-Secure: \r\n'), 'alice').action).toBe('reject');

        const allowed = new MessageActions(parseClassActions({ ...config, relayPrivate: true }, SMART));
        expect(allowed.decide(of('voicemail'), privateMsg, 'alice')).toEqual({ action: 'relay', to: 'x@exchange.example.com' });
    });

    it('refuses bad configuration with the option name', () => {
        expect(() => parseClassActions('{not json')).toThrow(/^invalid option --class-actions: /);
        expect(() => parseClassActions({ default: { fax: 'bounce' } })).toThrow(/--class-actions: default\.fax/);
        expect(() => parseClassActions({ default: { sms: 'reject' } })).toThrow(/--class-actions/);
        expect(() => parseClassActions({ default: { fax: { relay: 'not-an-address' } } }, SMART)).toThrow(/expected an e-mail address/);
        expect(() => parseClassActions({ extra: 1 })).toThrow(/--class-actions/);
        expect(() => parseClassActions({ default: { fax: { relay: 'f@example.com' } } })).toThrow(/relay actions need --smart-host/);
        expect(() => parsePrivateHeader('Bad Name: x')).toThrow(/--private-header/);
        expect(parsePrivateHeader('X-Secure')).toEqual({ name: 'X-Secure' });
    });
});
