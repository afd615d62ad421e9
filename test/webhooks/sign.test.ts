// The signature scheme as a receiver in another language would implement it (docs/policy.md).
import { createHmac } from 'node:crypto';
import { expect, test } from 'vitest';
import { signatureHeader, verifySignature } from '../../src/webhooks/sign.js';

test('t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">, checked within the tolerance', () => {
    const body = '{"events":[]}';
    const header = signatureHeader('s3cret', body, 1_800_000_000);
    expect(header).toBe(`t=1800000000,v1=${createHmac('sha256', 's3cret').update(`1800000000.${body}`).digest('hex')}`);
    expect(verifySignature('s3cret', header, body, 300, 1_800_000_100)).toBe(true);
    expect(verifySignature('s3cret', header, body, 300, 1_800_000_301)).toBe(false); // replayed too late
    expect(verifySignature('s3cret', header.replace('t=1800000000', 't=1800000001'), body, 300, 1_800_000_000)).toBe(false);
    expect(verifySignature('s3cret', `${header},v1=${'0'.repeat(64)}`, body, 300, 1_800_000_000)).toBe(true); // rotation: any v1
    expect(verifySignature('s3cret', 't=1800000000,v1=zz', body, 300, 1_800_000_000)).toBe(false);
    expect(verifySignature('s3cret', undefined, body)).toBe(false);
});
