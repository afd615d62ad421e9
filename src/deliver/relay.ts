// Relays one message to the smart host over SMTP (Unity Connection's "relay to the smart host"),
// streaming it as it arrives: used for unknown recipients under `relay` and for per-class relay
// actions. The message goes out as received (no header added); the result is an Outcome, so intake
// answers the MTA with the smart host's verdict: 250 only once the smart host said 250.
import type { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { ConfigError } from '../config.js';
import { SmtpError, tempFail, type Outcome } from './deliverer.js';
import { reply } from '../smtp/replies.js';
import { stripBrackets } from '../net/address.js';
import { RELAY_TIMEOUT_MS } from '../limits.js';

export interface SmartHost {
    host: string;
    port: number;
    /** Implicit TLS (smtps://). Plain smtp:// still upgrades with STARTTLS when offered. */
    secure: boolean;
    auth?: { user: string; pass: string };
    /** Our name in EHLO. */
    name?: string;
    /** Per-step socket timeout (connect, greeting, each reply). */
    timeoutMs: number;
}

/** `smtp://[user:pass@]host[:port]` or `smtps://...` (ports default to 25 and 465). */
export function parseSmartHost(url: string, timeoutMs = RELAY_TIMEOUT_MS): SmartHost {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        throw new ConfigError(`invalid option --smart-host: expected smtp://host:port, got "${url}"`);
    }
    if ((u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || !u.hostname || u.pathname.replace('/', '')) {
        throw new ConfigError(`invalid option --smart-host: expected smtp://[user:pass@]host:port or smtps://..., got "${url}"`);
    }
    const secure = u.protocol === 'smtps:';
    const host: SmartHost = { host: stripBrackets(u.hostname), port: Number(u.port || (secure ? 465 : 25)), secure, timeoutMs };
    if (u.username) host.auth = { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
    return host;
}

export interface RelayEnvelope {
    /** MAIL FROM ('' for the null sender, as bounces have). */
    from: string;
    to: string[];
}

/**
 * One Outcome per envelope recipient, in order (the smart host may refuse some and take others).
 * Never rejects: a refusal or a failure to reach the smart host is an Outcome with the SMTP error.
 */
export async function relay(smartHost: SmartHost, envelope: RelayEnvelope, message: Readable): Promise<Outcome[]> {
    const incomplete = (): Outcome[] => envelope.to.map(() => ({ ok: false, error: tempFail('Not relayed: the incoming message was incomplete', '4.3.0') }));
    if (message.destroyed) return incomplete();
    const conn = new SMTPConnection({
        host: smartHost.host,
        port: smartHost.port,
        secure: smartHost.secure,
        name: smartHost.name,
        connectionTimeout: smartHost.timeoutMs,
        greetingTimeout: smartHost.timeoutMs,
        socketTimeout: smartHost.timeoutMs,
        logger: false
    });
    // Socket-level failures (refused, reset, TLS) arrive as 'error' events, not through the callbacks.
    let failed: (err: SMTPConnection.SMTPError) => void = () => undefined;
    const broken = new Promise<never>((_r, reject) => (failed = reject));
    broken.catch(() => undefined);
    conn.on('error', err => failed(err));
    // The source can fail at any step (client gone, size limit), before nodemailer listens to it.
    let sourceFailed = false;
    message.once('error', err => {
        sourceFailed = true;
        failed(err);
    });
    const step = <T>(fn: (done: (err: SMTPConnection.SMTPError | null | undefined, v?: T) => void) => void) =>
        Promise.race([broken, new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))))]);
    const auth = smartHost.auth;
    try {
        await step<void>(done => conn.connect(err => done(err)));
        if (auth) await step<void>(done => conn.login(auth, err => done(err)));
        // from false: MAIL FROM:<> for the null sender
        const info = await step<SMTPConnection.SentMessageInfo>(done => conn.send({ from: envelope.from || false, to: envelope.to }, message, done));
        if (!info) throw new Error('smart host gave no result');
        const text = `2.0.0 Relayed via ${smartHost.host}:${smartHost.port}: ${info.response}`;
        return envelope.to.map(to => {
            const refused = info.rejectedErrors?.find(e => e.recipient === to);
            return refused || info.rejected.includes(to) ? { ok: false, error: toSmtpError(refused) } : { ok: true, text };
        });
    } catch (e) {
        message.resume(); // drain what the smart host did not take, so the sender is not stalled
        if (sourceFailed) return incomplete();
        const err = e as SMTPConnection.SMTPError;
        return envelope.to.map(to => ({ ok: false, error: toSmtpError(err.rejectedErrors?.find(r => r.recipient === to) ?? err) }));
    } finally {
        // after a failed source the final dot must never go out, and a QUIT would only be read
        // as message text: drop the connection instead
        if (sourceFailed) conn.close();
        else conn.quit();
    }
}

/** The smart host's own reply when it gave one (keeping its class); a transport failure is 451 4.4.1. */
function toSmtpError(err: SMTPConnection.SMTPError | undefined): SmtpError {
    const code = err?.responseCode;
    const response = (err?.response ?? err?.message ?? 'unknown error').replace(/\s+/g, ' ').trim();
    if (!code || code < 400) return reply.smartHostUnavailable(response);
    const enhanced = /\b([45])\.\d{1,3}\.\d{1,3}\b/.exec(response);
    const cls = String(code)[0];
    return new SmtpError(code, enhanced && enhanced[1] === cls ? enhanced[0] : `${cls}.0.0`, `Smart host refused: ${response}`);
}
