// A one-off IMAP session as `<user><separator><master>` (what the bridge's pool does), with
// Dovecot's refusal told apart from an unreachable server: imapflow's own message for both is
// only `Command failed`.
import { ImapFlow } from 'imapflow';
import type { Config } from '../config.js';

export class ImapLoginRefused extends Error {}

export async function imapSession<T>(config: Config, user: string, timeoutMs: number, use: (client: ImapFlow) => Promise<T>): Promise<T> {
    const t = config.imap!;
    const client = new ImapFlow({
        host: t.host,
        port: t.port,
        secure: t.secure,
        auth: { user: `${user}${config.imapMasterSeparator}${t.master}`, pass: t.password },
        logger: false,
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs * 4,
        disableAutoIdle: true
    });
    client.on('error', () => undefined); // the failing call reports it
    try {
        await client.connect();
    } catch (err) {
        const e = err as { authenticationFailed?: boolean; responseText?: string; message: string };
        if (e.authenticationFailed) throw new ImapLoginRefused(e.responseText || 'authentication failed');
        throw new Error(e.responseText || e.message);
    }
    try {
        return await use(client);
    } finally {
        await client.logout().catch(() => client.close());
    }
}
