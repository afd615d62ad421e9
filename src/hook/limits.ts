// Limits on ingest connections that have not yet proved the hook's key (issue: 200 such
// connections once took the bridge to 1.6 GB). Until proved — a verified stream hello, or a
// verified POST — a connection has `proveMs` to do so, and there are at most `unprovedTotal` of
// them and `unprovedPerPeer` per peer address; all connections together stay under
// `maxConnections` (the hook keeps one per Dovecot session, so that one is large). Unverified
// POST bodies share one byte budget. The http.Server here never listen()s, so none of its own
// header timeouts apply: this is what ends a slow or silent client.
import type { Socket } from 'node:net';
import { ingestBatches } from '../metrics.js';

export interface IngestLimits {
    proveMs: number;
    unprovedTotal: number;
    unprovedPerPeer: number;
    maxConnections: number;
    bodyBudget: number;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = { proveMs: 5000, unprovedTotal: 256, unprovedPerPeer: 64, maxConnections: 8192, bodyBudget: 64 * 1024 * 1024 };

export class ConnectionLimits {
    readonly limits: IngestLimits;
    private readonly unproved = new Map<Socket, { peer: string; timer: NodeJS.Timeout }>();
    private readonly perPeer = new Map<string, number>();
    private bodyBytes = 0;

    constructor(limits: Partial<IngestLimits> = {}) {
        this.limits = { ...DEFAULT_INGEST_LIMITS, ...limits };
    }

    /** A new connection: admitted (and on the clock) or to be closed at once. */
    admit(sock: Socket, open: number): boolean {
        const peer = sock.remoteAddress ?? 'unix';
        const l = this.limits;
        if (open >= l.maxConnections || this.unproved.size >= l.unprovedTotal || (this.perPeer.get(peer) ?? 0) >= l.unprovedPerPeer) {
            ingestBatches.inc({ result: 'conn_limit' });
            return false;
        }
        this.perPeer.set(peer, (this.perPeer.get(peer) ?? 0) + 1);
        const timer = setTimeout(() => {
            ingestBatches.inc({ result: 'timeout' });
            sock.destroy();
        }, l.proveMs);
        timer.unref();
        this.unproved.set(sock, { peer, timer });
        sock.once('close', () => this.proved(sock));
        return true;
    }

    /** The connection proved the key (or closed): off the clock and out of the caps. */
    proved(sock: Socket): void {
        const u = this.unproved.get(sock);
        if (!u) return;
        clearTimeout(u.timer);
        this.unproved.delete(sock);
        const n = (this.perPeer.get(u.peer) ?? 1) - 1;
        n > 0 ? this.perPeer.set(u.peer, n) : this.perPeer.delete(u.peer);
    }

    takeBody(n: number): boolean {
        if (this.bodyBytes + n > this.limits.bodyBudget) return false;
        this.bodyBytes += n;
        return true;
    }

    releaseBody(n: number): void {
        this.bodyBytes = Math.max(0, this.bodyBytes - n);
    }

    get unprovedCount(): number {
        return this.unproved.size;
    }
}
