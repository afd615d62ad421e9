// What /readyz reports. Readiness fails (503) only when vmbridge cannot do its job: draining, or
// the mail path (the deliver target) down so every recipient would get 451. Event-side trouble
// (IMAP, AMI, a silent hook) is `degraded`: mail still flows, so a balancer keeps sending it.
import type { Health } from './server.js';
import { CachedProbe, probeDeliverTarget, probeMemcached } from './probe.js';
import type { DeliverTarget } from '../deliver/target.js';
import type { AmiHealth } from '../mwi/ami-notifier.js';
import { registerDependencyUp } from '../metrics.js';
import { IMAP_ERROR_RECENT_MS } from '../limits.js';

export interface ReadinessSources {
    accepting: () => boolean;
    deliver: DeliverTarget;
    imap?: () => { busy: number; idle: number; lastError?: { message: string; at: number } };
    ami?: () => AmiHealth | undefined;
    /** memcached servers of --resolver (none with the memory resolver) */
    memcached?: { host: string; port: number }[];
    /** ms since epoch of the hook's last hello or batch; undefined: not heard since start */
    hookLastHeard: () => number | undefined;
}

export interface Dependency {
    status: 'ok' | 'failing' | 'degraded' | 'unknown';
    /** true: failing makes vmbridge not ready */
    required: boolean;
    [detail: string]: unknown;
}

export class Readiness {
    private readonly deliver: CachedProbe;
    private lastDeliverOk = false;
    private readonly memcached?: CachedProbe;
    private readonly unregister: (() => void)[] = [];
    private lastMemcachedOk = false;

    constructor(private readonly src: ReadinessSources) {
        this.deliver = new CachedProbe(probeDeliverTarget(src.deliver));
        this.unregister.push(registerDependencyUp(depName(src.deliver), () => (this.lastDeliverOk ? 1 : 0)));
        if (src.memcached?.length) {
            this.memcached = new CachedProbe(probeMemcached(src.memcached));
            this.unregister.push(registerDependencyUp('memcached', () => (this.lastMemcachedOk ? 1 : 0)));
        }
        if (src.ami) this.unregister.push(registerDependencyUp('ami', () => (src.ami?.()?.connected ? 1 : 0)));
    }

    async check(): Promise<Health> {
        const [d, mc] = await Promise.all([this.deliver.get(), this.memcached?.get()]);
        this.lastDeliverOk = d.ok;
        const deps: Record<string, Dependency> = {
            [depName(this.src.deliver)]: { status: d.ok ? 'ok' : 'failing', required: true, target: describe(this.src.deliver), ...(d.problem && { problem: d.problem }) }
        };
        if (mc) {
            this.lastMemcachedOk = mc.ok;
            // push resolution and the shared journal suffer; mail still flows
            deps.memcached = { status: mc.ok ? 'ok' : 'degraded', required: false, ...('servers' in mc ? { servers: mc.servers } : { problem: mc.problem }) };
        }
        const imap = this.src.imap?.();
        // a failed login stays the last word until the next session opens: degraded only while recent
        const recentImapError = imap?.lastError && Date.now() - imap.lastError.at < IMAP_ERROR_RECENT_MS;
        if (imap)
            deps.imap = {
                status: recentImapError ? 'degraded' : 'ok',
                required: false,
                busy: imap.busy,
                idle: imap.idle,
                ...(imap.lastError && { lastError: imap.lastError.message, lastErrorSecondsAgo: secondsSince(imap.lastError.at) })
            };
        const ami = this.src.ami?.();
        if (ami) deps.ami = { ...ami, required: false };
        const heard = this.src.hookLastHeard();
        deps.hook = { status: heard === undefined ? 'unknown' : 'ok', required: false, lastHeardSecondsAgo: heard === undefined ? null : secondsSince(heard) };
        const accepting = this.src.accepting();
        const ready = accepting && Object.values(deps).every(x => !x.required || x.status === 'ok');
        const degraded = Object.values(deps).some(x => x.status === 'degraded' || x.status === 'failing');
        const status = !accepting ? 'draining' : !ready ? 'not ready' : degraded ? 'degraded' : 'ok';
        const failing = Object.entries(deps)
            .filter(([, x]) => x.required && x.status !== 'ok')
            .map(([k]) => k);
        // `ami` stays at the top level too (the MWI work's contract for /healthz)
        return { ok: ready, status, ...(failing.length && { failing }), dependencies: deps, ...(ami && { ami }) };
    }

    close(): void {
        for (const u of this.unregister) u();
    }
}

function depName(t: DeliverTarget): string {
    return t.kind === 'lmtp' ? 'dovecot-lmtp' : t.kind === 'lda' ? 'dovecot-lda' : 'maildir';
}

function describe(t: DeliverTarget): string {
    return t.kind === 'lmtp' ? ('path' in t.address ? `unix:${t.address.path}` : `${t.address.host}:${t.address.port}`) : t.kind === 'lda' ? t.path : t.dir;
}

function secondsSince(ms: number): number {
    return Math.max(0, Math.round((Date.now() - ms) / 1000));
}
