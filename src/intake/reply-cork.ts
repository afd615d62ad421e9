// The replies a pipelined command batch produces (250 MAIL, 250 RCPT..., 354) leave the MTA's
// socket in one send instead of one each: the socket is corked while a MAIL/RCPT/DATA handler of
// the session runs, and uncorked in the tick after the last one finished — by then smtp-server
// has either dispatched the next pipelined command (whose handler holds the cork again) or
// stopped to wait for the client. Each send is a syscall and a wake-up of the MTA (~75–100 µs on
// loopback); a client that does not pipeline waits one tick longer for each reply.
import type { Socket } from 'node:net';

export class ReplyCork {
    private holds = 0;
    private corked?: Socket;

    /** socket(): the session's current socket (the TLS one after STARTTLS). */
    constructor(private readonly socket: () => Socket | undefined) {}

    hold(): void {
        this.holds++;
        if (this.corked) return;
        const s = this.socket();
        if (!s || s.destroyed) return;
        s.cork();
        this.corked = s;
    }

    release(): void {
        if (--this.holds > 0) return;
        process.nextTick(() => {
            if (this.holds > 0 || !this.corked) return;
            const s = this.corked;
            this.corked = undefined;
            s.uncork();
        });
    }

    /** Runs fn (which may send replies) with the cork held. */
    around(fn: () => void): void {
        this.hold();
        try {
            fn();
        } finally {
            this.release();
        }
    }
}
