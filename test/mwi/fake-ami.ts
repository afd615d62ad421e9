// A stand-in Asterisk manager port, written from the documented protocol and what Asterisk 23 was
// seen to do (facts-asterisk.md): banner line `Asterisk Call Manager/<ver>`, messages of
// `Key: Value` lines ended by a blank line, Login first (Response: Success "Authentication
// accepted" / Response: Error "Authentication failed", then the session closes), every response
// echoing the action's ActionID. Like app_voicemail it answers MailboxCount and, after each
// VoicemailRefresh, recounts the box (through `count`, e.g. over real IMAP) and publishes a
// MessageWaiting event (class call: only to sessions whose Login did not say `Events: off`);
// MWIUpdate publishes the given counts. Tests can make it publish any state (a stale one, as at
// VoiceMailMain hangup), refuse an action, or drop every connection.
import net from 'node:net';

export type Msg = Record<string, string>;

/** new includes urgent, as vmbridge counts. */
export interface BoxCounts {
    new: number;
    old: number;
    urgent: number;
}

export interface FakeAmiOptions {
    username?: string;
    secret?: string;
    /** app_voicemail's own recount of `mailbox@context`; without it every box counts zero. */
    count?: (mailbox: string, context: string) => Promise<BoxCounts>;
    version?: string;
}

export class FakeAmi {
    port = 0;
    /** Every action received after a successful login (Login and Logoff excluded). */
    readonly actions: Msg[] = [];
    /** Every MessageWaiting event published. */
    readonly published: Msg[] = [];
    /** The Events value of each successful login. */
    readonly logins: string[] = [];
    loginAttempts = 0;
    private server?: net.Server;
    private readonly sockets = new Set<net.Socket>();
    private readonly listeners = new Set<net.Socket>();
    private readonly refusals = new Map<string, string>();
    private readonly creds: { username: string; secret: string };

    constructor(private readonly opts: FakeAmiOptions = {}) {
        this.creds = { username: opts.username ?? 'vmbridge', secret: opts.secret ?? 's3cret' };
    }

    async start(port = 0): Promise<this> {
        const server = net.createServer(sock => this.session(sock));
        await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(port, '127.0.0.1', () => resolve());
        });
        this.server = server;
        this.port = (server.address() as net.AddressInfo).port;
        return this;
    }

    async stop(): Promise<void> {
        this.drop();
        await new Promise<void>(resolve => (this.server ? this.server.close(() => resolve()) : resolve()));
        this.server = undefined;
    }

    get url(): string {
        return `ami://${this.creds.username}:${this.creds.secret}@127.0.0.1:${this.port}`;
    }

    /** Answer this action with `Response: Error` (until allowed again). */
    refuse(action: string, message = 'Permission denied'): void {
        this.refusals.set(action.toLowerCase(), message);
    }

    allow(action: string): void {
        this.refusals.delete(action.toLowerCase());
    }

    /** Closes every session (Asterisk restarting, a network cut). */
    drop(): void {
        for (const s of this.sockets) s.destroy();
    }

    /** Counts of a box as app_voicemail would publish them now. */
    count(box: string): Promise<BoxCounts> {
        const [mailbox, context = 'default'] = box.split('@');
        return this.opts.count?.(mailbox, context) ?? Promise.resolve({ new: 0, old: 0, urgent: 0 });
    }

    /**
     * Publishes a MessageWaiting event as Asterisk 23 writes it: New counts urgent (MWI state carries
     * new + urgent), Waiting only non-urgent new (so only-urgent gives Waiting: 0, New: 1).
     */
    publish(box: string, c: BoxCounts): void {
        const ev: Msg = { Event: 'MessageWaiting', Privilege: 'call,all', Mailbox: box, Waiting: c.new - c.urgent > 0 ? '1' : '0', New: String(c.new), Old: String(c.old) };
        this.published.push(ev);
        for (const s of this.listeners) write(s, ev);
    }

    /** The states published for a box, in order. */
    states(box: string): { new: number; old: number }[] {
        return this.published.filter(e => e.Mailbox === box).map(e => ({ new: Number(e.New), old: Number(e.Old) }));
    }

    private session(sock: net.Socket): void {
        this.sockets.add(sock);
        sock.on('close', () => (this.sockets.delete(sock), this.listeners.delete(sock)));
        sock.on('error', () => undefined);
        let authed = false;
        let buf = '';
        const reply = (m: Msg, fields: Msg) => write(sock, m.ActionID !== undefined ? { ...fields, ActionID: m.ActionID } : fields);
        sock.write(`Asterisk Call Manager/${this.opts.version ?? '9.0.0'}\r\n`);
        sock.setEncoding('utf8');
        sock.on('data', (d: string) => {
            buf += d;
            let end: number;
            while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
                const block = buf.slice(0, end);
                buf = buf.slice(end + 4);
                const m: Msg = {};
                for (const line of block.split('\r\n')) {
                    const i = line.indexOf(': ');
                    if (i > 0) m[line.slice(0, i)] = line.slice(i + 2);
                }
                const action = (m.Action ?? '').toLowerCase();
                if (action === 'login') {
                    this.loginAttempts++;
                    if (m.Username === this.creds.username && m.Secret === this.creds.secret) {
                        authed = true;
                        this.logins.push(m.Events ?? '');
                        // Events: off, or a class list without call, gets no MessageWaiting.
                        const ev = (m.Events ?? 'on').toLowerCase();
                        if (ev === 'on' || ev.split(',').some(c => c.trim() === 'call' || c.trim() === 'all')) this.listeners.add(sock);
                        reply(m, { Response: 'Success', Message: 'Authentication accepted' });
                    } else {
                        reply(m, { Response: 'Error', Message: 'Authentication failed' });
                        sock.end();
                    }
                } else if (!authed) {
                    reply(m, { Response: 'Error', Message: 'Permission denied' });
                } else if (action === 'logoff') {
                    reply(m, { Response: 'Goodbye', Message: 'Thanks for all the fish.' });
                    sock.end();
                } else {
                    this.actions.push(m);
                    void this.act(action, m, reply);
                }
            }
        });
    }

    private async act(action: string, m: Msg, reply: (m: Msg, fields: Msg) => void): Promise<void> {
        const refusal = this.refusals.get(action);
        if (refusal) return reply(m, { Response: 'Error', Message: refusal });
        if (action === 'voicemailrefresh') {
            reply(m, { Response: 'Success', Message: 'Refresh sent' });
            const box = `${m.Mailbox}@${m.Context || 'default'}`;
            this.publish(box, await this.count(box));
        } else if (action === 'mwiupdate') {
            reply(m, { Response: 'Success', Message: 'Mailbox updated' });
            this.publish(m.Mailbox, { new: Number(m.NewMessages), old: Number(m.OldMessages), urgent: 0 });
        } else if (action === 'mailboxcount') {
            const c = await this.count(m.Mailbox.includes('@') ? m.Mailbox : `${m.Mailbox}@default`);
            reply(m, {
                Response: 'Success',
                Message: 'Mailbox Message Count',
                Mailbox: m.Mailbox,
                UrgMessages: String(c.urgent),
                NewMessages: String(c.new - c.urgent),
                OldMessages: String(c.old)
            });
        } else {
            reply(m, { Response: 'Error', Message: 'Invalid/unknown command' });
        }
    }
}

function write(sock: net.Socket, m: Msg): void {
    sock.write(
        Object.entries(m)
            .map(([k, v]) => `${k}: ${v}\r\n`)
            .join('') + '\r\n'
    );
}
