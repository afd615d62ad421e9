// A bare IMAP session for timing commands: the command's time runs from the write of its line to
// its tagged reply, with nothing of a client library's queueing or parsing inside it (imapflow's
// added about 1 ms to a STORE here: bench/README, "STORE → event latency from the wire").
import net from 'node:net';

/** Just enough IMAP to time one tagged command at a time. */
export class ImapSession {
    /** process.hrtime.bigint() of the last command's write and of its tagged reply. */
    sentAt = 0n;
    repliedAt = 0n;
    #sock;
    #buf = '';
    #wait;
    #tag = 0;

    /** The client side's port: tells which server process holds the other end (proc.mjs peerPid). */
    get localPort() {
        return this.#sock.localPort;
    }

    static async open(port, user, password) {
        const s = new ImapSession();
        s.#sock = net.connect(port, '127.0.0.1');
        s.#sock.setNoDelay(true);
        s.#sock.on('data', d => s.#data(d));
        await new Promise(resolve => (s.#wait = { tag: '*', resolve }));
        await s.command(`LOGIN "${user}" "${password}"`);
        await s.command('SELECT INBOX');
        return s;
    }

    command(cmd) {
        const tag = `a${++this.#tag}`;
        return new Promise((resolve, reject) => {
            this.#wait = {
                tag,
                resolve: line => {
                    this.repliedAt = process.hrtime.bigint();
                    if (/^\S+ OK/.test(line)) resolve(Number(this.repliedAt - this.sentAt) / 1e6);
                    else reject(new Error(`${cmd}: ${line}`));
                }
            };
            this.sentAt = process.hrtime.bigint();
            this.#sock.write(`${tag} ${cmd}\r\n`);
        });
    }

    close() {
        this.#sock.end('z LOGOUT\r\n');
    }

    #data(d) {
        this.#buf += d.toString('latin1');
        let i;
        while ((i = this.#buf.indexOf('\r\n')) >= 0) {
            const line = this.#buf.slice(0, i);
            this.#buf = this.#buf.slice(i + 2);
            if (this.#wait && line.startsWith(this.#wait.tag + ' ')) {
                const w = this.#wait;
                this.#wait = undefined;
                w.resolve(line);
            }
        }
    }
}
