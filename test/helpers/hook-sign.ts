// What dovecot/vmbridge.lua sends, for tests that play the hook: lines and POST bodies signed
// with HMAC-SHA256 under the ingest token (src/hook/auth.ts checks them).
import { createHmac } from 'node:crypto';

export const nowTs = () => Date.now() / 1000;
export const macOf = (token: string, body: string | Buffer) => createHmac('sha256', token).update(body).digest('hex');

/** A signed stream line: `{"mac":"…",` + the rest of the JSON (newline included). Raw bodies are signed as they are. */
export function signedLine(token: string, obj: object | Buffer): string | Buffer {
    const body = Buffer.isBuffer(obj) ? obj : Buffer.from(JSON.stringify(obj));
    const mac = macOf(token, body);
    if (!Buffer.isBuffer(obj)) return `{"mac":"${mac}",${body.subarray(1).toString()}\n`;
    return Buffer.concat([Buffer.from(`{"mac":"${mac}",`), body.subarray(1), Buffer.from('\n')]);
}

export const helloLine = (token: string, proc: string, user: string, ts = nowTs()) => signedLine(token, { vmbridge: 2, proc, user, ts }) as string;

/** Headers for a POST of `body` as the hook sends it. */
export const postHeaders = (token: string, body: string | Buffer) => ({ 'content-type': 'application/json', 'x-vmbridge-mac': macOf(token, body) });
