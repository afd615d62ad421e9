// The MTA side of the delivery benchmarks, behaving like Postfix's LMTP client: a connection is
// kept open and carries transaction after transaction, MAIL/RCPT/DATA go out pipelined in one
// write (PIPELINING), the body follows the 354. Replies are parsed just enough to count them.
import net from 'node:net';

export class MtaConnection {
    #sock;
    #buf = '';
    #lines = [];
    #waiters = [];

    /** target: a TCP port on host, or a unix socket's path (Postfix's lmtp:unix:). */
    static async open(target, host = '127.0.0.1') {
        const c = new MtaConnection();
        c.#sock = typeof target === 'string' ? net.connect(target) : net.connect(target, host);
        c.#sock.setNoDelay(true);
        c.#sock.on('data', d => c.#data(d));
        const dead = () => {
            for (const w of c.#waiters.splice(0)) w.reject(new Error('connection closed'));
        };
        c.#sock.on('close', dead);
        c.#sock.on('error', dead);
        await new Promise((resolve, reject) => {
            c.#sock.once('connect', resolve);
            c.#sock.once('error', reject);
        });
        await c.#expect(220);
        c.#sock.write('LHLO bench.example\r\n');
        await c.#expect(250);
        return c;
    }

    /**
     * One transaction; `payload` is dot-stuffed and terminated (see dataPayload()). Resolves with
     * the final replies' codes and the time from the first command byte to the last reply, ms.
     */
    async send(from, rcpts, payload) {
        const t0 = process.hrtime.bigint();
        this.#sock.write(`MAIL FROM:<${from}>\r\n` + rcpts.map(r => `RCPT TO:<${r}>\r\n`).join('') + 'DATA\r\n');
        const mail = await this.#reply();
        const rcpt = [];
        for (const _ of rcpts) rcpt.push(await this.#reply());
        const data = await this.#reply();
        const accepted = rcpt.filter(c => c === 250).length;
        if (mail !== 250 || data !== 354) {
            if (data === 354) {
                this.#sock.write('.\r\n'); // empty message, then reset
                await this.#reply();
            }
            this.#sock.write('RSET\r\n');
            await this.#reply();
            return { codes: rcpt.map(c => (c === 250 ? data : c)), ms: elapsed(t0) };
        }
        this.#sock.write(payload);
        const codes = [];
        for (let i = 0; i < accepted; i++) codes.push(await this.#reply());
        return { codes, ms: elapsed(t0) };
    }

    close() {
        this.#sock.end('QUIT\r\n');
    }

    async #expect(code) {
        const got = await this.#reply();
        if (got !== code) throw new Error(`expected ${code}, got ${got}`);
    }

    #data(d) {
        this.#buf += d.toString('latin1');
        let i;
        while ((i = this.#buf.indexOf('\n')) >= 0) {
            const line = this.#buf.slice(0, i);
            this.#buf = this.#buf.slice(i + 1);
            if (line[3] === '-') continue; // continuation: only the last line of a reply counts
            const code = Number(line.slice(0, 3));
            const w = this.#waiters.shift();
            w ? w.resolve(code) : this.#lines.push(code);
        }
    }

    #reply() {
        if (this.#lines.length) return Promise.resolve(this.#lines.shift());
        if (this.#sock.destroyed) return Promise.reject(new Error('connection closed'));
        return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
    }
}

const elapsed = t0 => Number(process.hrtime.bigint() - t0) / 1e6;

/** Dot-stuffs and terminates a message for DATA (done once per message, outside the timing). */
export function dataPayload(message) {
    const stuffed = message.toString('latin1').replace(/(^|\n)\./g, '$1..');
    return Buffer.from(stuffed + (stuffed.endsWith('\n') ? '.\r\n' : '\r\n.\r\n'), 'latin1');
}

/**
 * Sends `count` messages over `conns` open connections, each connection one transaction after
 * another (as Postfix does). next(i) gives { rcpts, payload } for message i.
 */
export async function sendAll(conns, count, next, from = 'sender@example.net') {
    let i = 0;
    const latencies = [];
    let ok = 0;
    let failed = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(
        conns.map(async c => {
            while (i < count) {
                const m = next(i++);
                const r = await c.send(from, m.rcpts, m.payload);
                latencies.push(r.ms);
                for (const code of r.codes) code === 250 ? ok++ : failed++;
            }
        })
    );
    const seconds = elapsed(t0) / 1000;
    return { seconds, ok, failed, rate: ok / seconds, latencies };
}

/** n connections to a TCP port on 127.0.0.1 or to a unix socket's path. */
export async function openConnections(target, n) {
    return Promise.all(Array.from({ length: n }, () => MtaConnection.open(target)));
}
