// A deliberately plain LMTP/SMTP client for tests: every reply line is visible, so tests can
// assert exact per-recipient codes (nodemailer folds them into accepted/rejected lists).
import net from 'node:net';

export interface Reply {
    code: number;
    text: string;
}

export interface SendResult {
    mail: Reply;
    rcpt: Reply[];
    data?: Reply;
    /** One per accepted recipient (LMTP) or a single one (SMTP). */
    final: Reply[];
}

export class LineClient {
    private buf = '';
    private waiters: ((line: string) => void)[] = [];
    private lines: string[] = [];
    private closed = false;

    private constructor(readonly sock: net.Socket) {
        sock.on('data', d => {
            this.buf += d.toString('latin1');
            let i;
            while ((i = this.buf.indexOf('\n')) >= 0) {
                const line = this.buf.slice(0, i).replace(/\r$/, '');
                this.buf = this.buf.slice(i + 1);
                const w = this.waiters.shift();
                w ? w(line) : this.lines.push(line);
            }
        });
        const fail = () => {
            this.closed = true;
            for (const w of this.waiters.splice(0)) w('421 connection closed');
        };
        sock.on('close', fail);
        sock.on('error', fail);
    }

    /** localAddress: the client's source address (e.g. 127.0.0.9, to be told apart from others). */
    static async connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<LineClient> {
        const sock = net.connect({ port, host, localAddress });
        await new Promise<void>((resolve, reject) => {
            sock.once('connect', resolve);
            sock.once('error', reject);
        });
        return new LineClient(sock);
    }

    line(): Promise<string> {
        const l = this.lines.shift();
        if (l !== undefined) return Promise.resolve(l);
        if (this.closed) return Promise.resolve('421 connection closed');
        return new Promise(r => this.waiters.push(r));
    }

    /** Reads one (possibly multi-line) reply. */
    async reply(): Promise<Reply> {
        const texts: string[] = [];
        for (;;) {
            const l = await this.line();
            texts.push(l.slice(4));
            if (l[3] !== '-') return { code: Number(l.slice(0, 3)) || 0, text: texts.join('\n') };
        }
    }

    async command(cmd: string): Promise<Reply> {
        this.sock.write(cmd + '\r\n');
        return this.reply();
    }

    write(data: string | Buffer): void {
        this.sock.write(data);
    }

    close(): void {
        this.sock.end();
    }
}

/** Dot-stuffs and terminates message bytes for DATA; bytes are otherwise sent unchanged. */
export function dataPayload(message: Buffer): Buffer {
    const stuffed = message.toString('latin1').replace(/(^|\n)\./g, '$1..');
    const end = stuffed.endsWith('\n') ? '.\r\n' : '\r\n.\r\n';
    return Buffer.from(stuffed + end, 'latin1');
}

/** One full LMTP (lmtp=true) or SMTP transaction on a fresh connection. */
export async function send(port: number, from: string, to: string[], message: Buffer, opts: { lmtp?: boolean } = {}): Promise<SendResult> {
    const lmtp = opts.lmtp ?? true;
    const c = await LineClient.connect(port);
    try {
        await c.reply(); // greeting
        await c.command(`${lmtp ? 'LHLO' : 'EHLO'} test.example`);
        return await transaction(c, from, to, message, lmtp);
    } finally {
        c.close();
    }
}

export async function transaction(c: LineClient, from: string, to: string[], message: Buffer, lmtp = true): Promise<SendResult> {
    const mail = await c.command(`MAIL FROM:<${from}>`);
    const rcpt: Reply[] = [];
    for (const r of to) rcpt.push(await c.command(`RCPT TO:<${r}>`));
    const accepted = rcpt.filter(r => r.code === 250).length;
    if (mail.code !== 250 || accepted === 0) return { mail, rcpt, final: [] };
    const data = await c.command('DATA');
    if (data.code !== 354) return { mail, rcpt, data, final: [] };
    c.write(dataPayload(message));
    const final: Reply[] = [];
    for (let i = 0; i < (lmtp ? accepted : 1); i++) final.push(await c.reply());
    return { mail, rcpt, data, final };
}
