// A stand-in Asterisk manager port, written from the documented protocol: banner line
// `Asterisk Call Manager/<ver>`, messages of `Key: Value` lines ended by a blank line, Login first
// (Response: Success "Authentication accepted" / Response: Error "Authentication failed", then the
// session closes), every response echoing the action's ActionID.
import net from 'node:net';

export type Msg = Record<string, string>;

export class FakeAmi {
    port = 0;
    /** Every action received after a successful login (Login and Logoff excluded). */
    readonly actions: Msg[] = [];
    loginAttempts = 0;
    private server?: net.Server;
    private readonly sockets = new Set<net.Socket>();

    constructor(private readonly creds = { username: 'vmbridge', secret: 's3cret' }) {}

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
        for (const s of this.sockets) s.destroy();
        await new Promise<void>(resolve => (this.server ? this.server.close(() => resolve()) : resolve()));
        this.server = undefined;
    }

    get url(): string {
        return `ami://${this.creds.username}:${this.creds.secret}@127.0.0.1:${this.port}`;
    }

    private session(sock: net.Socket): void {
        this.sockets.add(sock);
        sock.on('close', () => this.sockets.delete(sock));
        sock.on('error', () => undefined);
        let authed = false;
        let buf = '';
        const reply = (m: Msg, fields: Msg) => {
            const out: Msg = { ...fields };
            if (m.ActionID !== undefined) out.ActionID = m.ActionID;
            sock.write(Object.entries(out).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n');
        };
        sock.write('Asterisk Call Manager/9.0.0\r\n');
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
                    reply(m, { Response: 'Success', Message: action === 'voicemailrefresh' ? 'Refresh sent' : 'Mailbox updated' });
                }
            }
        });
    }
}
