// A TCP proxy in front of Dovecot's LMTP port that records what the client sent, read by read
// (on loopback one small send arrives as one read), and can play a Dovecot that hangs up: when a
// client chunk matches `cut`, both sides are closed before the chunk is passed on.
import net from 'node:net';

export interface LmtpProxy {
    url: string;
    /** Client → server chunks, latin1, per connection in arrival order. */
    chunks: string[];
    /** Set to hang up on the next client chunk that matches (then cleared). */
    cut?: RegExp;
    /** Connections cut so far. */
    cuts: number;
    close(): Promise<void>;
}

export async function lmtpProxy(port: number): Promise<LmtpProxy> {
    const socks = new Set<net.Socket>();
    const track = (s: net.Socket) => {
        socks.add(s);
        s.on('close', () => socks.delete(s));
        s.on('error', () => undefined);
    };
    const proxy: LmtpProxy = { url: '', chunks: [], cuts: 0, close: async () => undefined };
    const server = net.createServer(client => {
        const up = net.connect(port, '127.0.0.1');
        track(client);
        track(up);
        client.on('data', d => {
            const text = d.toString('latin1');
            if (proxy.cut?.test(text)) {
                proxy.cut = undefined;
                proxy.cuts++;
                up.destroy();
                client.destroy();
                return;
            }
            proxy.chunks.push(text);
            up.write(d);
        });
        up.on('data', d => client.write(d));
        client.on('close', () => up.destroy());
        up.on('close', () => client.destroy());
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    proxy.url = `lmtp://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    proxy.close = () =>
        new Promise<void>(resolve => {
            for (const s of socks) s.destroy();
            server.close(() => resolve());
        });
    return proxy;
}
