// Webhook signatures, Stripe-like: `X-Vmbridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>">`. The timestamp is inside the MAC so a captured request cannot be replayed later
// than the receiver's tolerance; several v1= values may appear while a secret is rotated.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WEBHOOK_SIGNATURE_TOLERANCE_SEC } from '../limits.js';

export const SIGNATURE_HEADER = 'x-vmbridge-signature';

export function sign(secret: string, body: string, t: number): string {
    return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}

export function signatureHeader(secret: string, body: string, nowSec = Math.floor(Date.now() / 1000)): string {
    return `t=${nowSec},v1=${sign(secret, body, nowSec)}`;
}

/** What a receiver does: true when one v1 matches and t is within `toleranceSec` of now. */
export function verifySignature(
    secret: string,
    header: string | undefined,
    body: string,
    toleranceSec = WEBHOOK_SIGNATURE_TOLERANCE_SEC,
    nowSec = Math.floor(Date.now() / 1000)
): boolean {
    if (!header) return false;
    const parts = header.split(',').map(p => p.trim().split('='));
    const t = Number(parts.find(([k]) => k === 't')?.[1]);
    if (!Number.isInteger(t) || Math.abs(nowSec - t) > toleranceSec) return false;
    const want = Buffer.from(sign(secret, body, t), 'hex');
    return parts.some(([k, v]) => k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/.test(v) && timingSafeEqual(Buffer.from(v, 'hex'), want));
}
