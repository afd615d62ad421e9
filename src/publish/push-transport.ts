// How a PushEndpoint's frames reach one PULL socket. Two transports, one interface:
// - SpPush (sp-push.ts): tcp:// to an IP address and ipc://, on Node's own socket; the frames
//   queued in one turn leave as one write (nanomsg: one nn_send syscall each).
// - NanoPush (here): nanomsg's PUSH socket for every other url (inproc, ws, a host name).
import nano, { type Socket } from 'nanomsg';
import type { Logger } from '../log.js';
import { spAddress } from '../wire/sp.js';
import { SpPush } from './sp-push.js';
import { PUSH_RECONNECT_MIN_MS, PUSH_RECONNECT_MAX_MS } from '../limits.js';

const nn = nano._bindings;

export interface PushTransport {
    /** Takes frames from the front of the list as far as the socket accepts them now; returns how
     * many it took. `failed` is called for a frame that can never be sent (it is taken too). */
    send(frames: readonly Buffer[], failed: () => void): number;
    /** Calls back once when send could take more; stopWaiting() cancels. */
    waitWritable(cb: () => void): void;
    stopWaiting(): void;
    close(): void;
}

/** A transport for the url, or undefined when nanomsg cannot even create one. */
export function pushTransport(url: string, logger?: Logger): PushTransport | undefined {
    const address = spAddress(url);
    if (address) return new SpPush(address, { reconnectMinMs: PUSH_RECONNECT_MIN_MS, reconnectMaxMs: PUSH_RECONNECT_MAX_MS });
    try {
        return NanoPush.connect(url, logger);
    } catch (err) {
        logger?.warn({ err, url }, 'push socket could not be created');
        return undefined;
    }
}

class NanoPush implements PushTransport {
    private poll?: object;

    private constructor(
        private readonly sock: Socket,
        private readonly url: string,
        private readonly logger?: Logger
    ) {}

    static connect(url: string, logger?: Logger): NanoPush | undefined {
        // reconn/maxreconn: a dead peer is redialled with backoff up to 5 s, not every 100 ms.
        const sock = nano.socket('push', { dontwait: true, linger: 0, reconn: PUSH_RECONNECT_MIN_MS, maxreconn: PUSH_RECONNECT_MAX_MS });
        sock.on('error', err => logger?.warn({ err, url }, 'push socket error'));
        if (sock.connect(url) === null) {
            sock.close();
            return undefined;
        }
        return new NanoPush(sock, url, logger);
    }

    send(frames: readonly Buffer[], failed: () => void): number {
        let taken = 0;
        for (const frame of frames) {
            if (nn.Send(this.sock.binding, frame, nn.NN_DONTWAIT) < 0) {
                if (nn.Errno() === nn.EAGAIN) break;
                this.logger?.warn({ url: this.url, error: nn.Err() }, 'push send failed');
                failed();
            }
            taken++;
        }
        return taken;
    }

    waitWritable(cb: () => void): void {
        this.poll ??= nn.PollSocket(this.sock.binding, true, () => cb());
    }

    stopWaiting(): void {
        if (this.poll) nn.PollStop(this.poll);
        this.poll = undefined;
    }

    close(): void {
        this.stopWaiting();
        this.sock.close();
    }
}
