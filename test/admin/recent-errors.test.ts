import { describe, expect, it } from 'vitest';
import { recentErrors, recordLog, redact } from '../../src/admin/recent-errors.js';
import { RECENT_ERRORS_MAX } from '../../src/limits.js';

describe('recent errors (status page)', () => {
    it('redacts addresses, caller IDs, IPs and URL credentials but keeps reply codes', () => {
        expect(redact('451 4.4.1 <alice@example.org> from +4930123456 at 10.0.0.7 via imap://master:pw@host')).toBe(
            '451 4.4.1 <[address]> from [number] at [ip] via imap://[redacted]@host'
        );
    });

    it('keeps warn and above, message and explanation only (no user/rcpt fields), bounded, newest first', () => {
        recordLog([{ rcpt: 'bob@example.org', user: 'bob@example.org', code: 451, reason: 'refused for bob@example.org' }, 'not stored'], 40);
        recordLog(['plain info'], 30);
        const [e] = recentErrors();
        expect(e).toMatchObject({ level: 'warn', msg: 'not stored', code: 451, detail: 'refused for [address]' });
        expect(JSON.stringify(recentErrors())).not.toContain('bob@');
        for (let i = 0; i < RECENT_ERRORS_MAX + 5; i++) recordLog([{ err: new Error(`boom ${i}`) }, 'failed'], 50);
        expect(recentErrors()).toHaveLength(RECENT_ERRORS_MAX);
        expect(recentErrors()[0].detail).toBe(`boom ${RECENT_ERRORS_MAX + 4}`);
    });
});
