// A real SMTP listener (smtp-server) standing in for the smart host: records each transaction's
// envelope and the exact bytes it received.
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { freePort } from '../helpers/net.js';

export interface Received {
    from: string;
    to: string[];
    data: Buffer;
}

export interface TestSmartHost {
    port: number;
    url: string;
    received: Received[];
    close(): Promise<void>;
}

export async function startSmartHost(opts: Partial<SMTPServerOptions> = {}): Promise<TestSmartHost> {
    const received: Received[] = [];
    const server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        size: 64 * 1024 * 1024,
        onData(stream, session, cb) {
            const chunks: Buffer[] = [];
            stream.on('data', (c: Buffer) => chunks.push(c));
            stream.on('end', () => {
                const env = session.envelope;
                received.push({ from: env.mailFrom ? env.mailFrom.address : '', to: env.rcptTo.map(r => r.address), data: Buffer.concat(chunks) });
                cb();
            });
        },
        ...opts
    });
    const port = await freePort();
    await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve));
    return { port, url: `smtp://127.0.0.1:${port}`, received, close: () => new Promise(resolve => server.close(() => resolve())) };
}
