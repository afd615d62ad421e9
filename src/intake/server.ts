// The MTA-facing LMTP (or SMTP) listener, built on smtp-server. It proxies each transaction to
// the downstream as it arrives: MAIL FROM opens the downstream transaction, each RCPT is passed
// on and answered with the downstream's verdict, DATA streams through HeaderTap (classification
// without buffering) to the downstream, and each recipient's reply is what the downstream did
// with that copy. Events follow the reply, never delay it. Policy (policy.ts: access list,
// untrusted clients, TLS, AUTH) and limits (connections, size, recipients, timeouts) apply per
// listener; close() drains: new clients get 421, open transactions finish. Message handling
// (rules.ts, routing.ts): RCPT addresses are mapped to users or relayed, and per-class
// actions send a recipient's copy to the smart host or refuse it.
import type { ListenAddress } from '../net/address.js';
import type { AddressInfo } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { chainBody } from './body-chain.js';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerAuthenticationResponse, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Classification } from '../classify/classify.js';
import { HeaderTap } from '../classify/header-tap.js';
import { ConfigSchema, type Config } from '../config.js';
import { SmtpError, type Deliverer, type Outcome } from '../deliver/deliverer.js';
import type { DeliveryObserver, DeliveryRecord } from '../events/delivery.js';
import type { Logger } from '../log.js';
import * as metrics from '../metrics.js';
import { ImapAuthenticator, type Authenticator } from './auth.js';
import { AuthGate } from './auth-gate.js';
import { ConnectionLimiter } from './connections.js';
import { keepEnhancedCodes } from '../smtp/enhanced-codes.js';
import { fastDataUnstuff } from '../smtp/data-unstuff.js';
import { DeliveryRules, type DeliveryRulesConfig } from './rules.js';
import { listenerCap } from '../net/fd-budget.js';
import { ListenerPolicy, senderAllowed, type Admission, type Trust } from './policy.js';
import { planRoutes, safeClassify, sendCopies, type Plan } from './routing.js';
import { loadTlsPair } from './tls.js';
import { listenUnix } from '../net/unix-listen.js';
import { IntakeTransaction } from './transaction.js';
import { reply } from '../smtp/replies.js';
import { REFUSAL_ROOM, INTAKE_CLOSE_TIMEOUT_MS } from '../limits.js';
import { ReplyCork } from './reply-cork.js';
import type { Socket } from 'node:net';

/** Keys intake reads; the policy, limit and handling keys fall back to the schema defaults when absent. */
export type IntakeConfig = Pick<Config, 'usernameFormat' | 'maxSize' | 'maxRecipients' | 'receivedHeader'> &
    Partial<
        Pick<
            Config,
            | 'lmtpAccess'
            | 'smtpAccess'
            | 'untrusted'
            | 'tls'
            | 'tlsCert'
            | 'tlsKey'
            | 'imap'
            | 'authCacheTtl'
            | 'maxConnections'
            | 'maxConnectionsPerIp'
            | 'commandTimeout'
            | 'dataTimeout'
            | 'shutdownTimeout'
            | 'helloTimeout'
            | 'lmtpSocketMode'
        >
    > &
    Partial<DeliveryRulesConfig>;
type Optional = 'lmtpAccess' | 'smtpAccess' | 'tls' | 'tlsCert' | 'tlsKey' | 'imap' | 'recipientMap' | 'recipientMapServers' | 'smartHost' | 'classActions' | 'privateHeader';
type FullIntakeConfig = Required<Pick<IntakeConfig, Exclude<keyof IntakeConfig, Optional>>> & IntakeConfig;

/** The per-connection handle smtp-server keeps (its type is not exported by name). */
interface Connection {
    id: string;
    /** Set by LHLO/EHLO/HELO. */
    hostNameAppearsAs?: string | false;
    secure?: boolean;
    _socket?: Socket;
    send(code: number, data?: string, context?: string | false): void;
    close(): void;
}

export interface IntakeOptions {
    /** host:port, or unix:/path, to listen on. */
    listen: ListenAddress;
    /** true: LMTP (one reply per recipient after DATA); false: SMTP. */
    lmtp: boolean;
    deliverer: Deliverer;
    observer: DeliveryObserver;
    config: IntakeConfig;
    logger: Logger;
    /** Host name in the greeting and Received header. */
    hostname?: string;
    /** Checks AUTH credentials; default: an IMAP login on config.imap's host (auth.ts). */
    authenticator?: Authenticator;
}

export class IntakeServer {
    private readonly server: SMTPServer;
    private readonly txns = new Map<string, IntakeTransaction>();
    /** Sessions admitted by onConnect: their address (for the limiter) and trust. */
    private readonly sessions = new Map<string, { ip: string; trust: Trust; cork?: ReplyCork }>();
    /** Sessions that have not said LHLO/EHLO yet: closed when the hello timeout fires. */
    private readonly helloTimers = new Map<string, NodeJS.Timeout>();
    /** `--lmtp unix:/path`: file permissions are the access control. */
    private readonly socketFile?: string;
    private readonly log: Logger;
    private readonly limiter: ConnectionLimiter;
    private readonly authGate: AuthGate;
    private config: FullIntakeConfig;
    private policy: ListenerPolicy;
    private authenticator?: Authenticator;
    private rules: DeliveryRules;
    private draining = false;

    constructor(private readonly opts: IntakeOptions) {
        keepEnhancedCodes();
        fastDataUnstuff();
        this.log = opts.logger.child({ stage: 'intake', proto: opts.lmtp ? 'lmtp' : 'smtp' });
        this.authGate = new AuthGate(this.log);
        this.config = withDefaults(opts.config);
        this.policy = this.makePolicy(this.config);
        this.authenticator = this.makeAuthenticator(this.config);
        this.rules = DeliveryRules.create(this.config, this.log);
        const tls = this.policy.tls === 'disabled' ? {} : loadTlsPair(this.config.tlsCert!, this.config.tlsKey!);
        this.socketFile = opts.listen.path;
        if (this.socketFile && this.config.lmtpAccess) this.log.warn({ socket: this.socketFile }, '--lmtp-access does not apply to a unix socket: its file mode decides');
        this.limiter = new ConnectionLimiter(listenerCap(this.config.maxConnections), this.config.maxConnectionsPerIp);
        this.server = new SMTPServer({
            ...tls,
            lmtp: opts.lmtp,
            name: opts.hostname,
            banner: 'vmbridge ready',
            authOptional: true, // required per session for untrusted clients (mailFrom)
            allowInsecureAuth: true, // TLS before AUTH is enforced per session (auth)
            authMethods: ['PLAIN', 'LOGIN'],
            disabledCommands: ['AUTH', 'STARTTLS'], // onConnect sets each session's own list
            disableReverseLookup: true, // a slow DNS must not delay deliveries
            hideENHANCEDSTATUSCODES: false,
            hideSize: false,
            size: this.config.maxSize,
            rejectOversized: true, // 552 5.3.4 whatever SIZE claimed; SizeGuard aborts downstream
            maxRecipients: this.config.maxRecipients,
            socketTimeout: this.config.commandTimeout,
            closeTimeout: INTAKE_CLOSE_TIMEOUT_MS, // only idle connections remain when close() gets there
            logger: false,
            onConnect: (session, cb) => cb(this.connect(session) ?? undefined),
            onSecure: (_socket, session, cb) => {
                const s = this.sessions.get(session.id);
                if (s) session.disabledCommands = this.policy.disabledCommands(s.trust, true);
                cb();
            },
            onAuth: (auth, session, cb) => void this.auth(auth, session).then(r => cb(null, r), cb),
            onMailFrom: (address, session, cb) => this.corked(session, () => this.mailFrom(address.address, session), cb),
            onRcptTo: (address, session, cb) => this.corked(session, () => this.rcptTo(address.address, session).catch(err => (countRcptFailure(err), Promise.reject(err))), cb),
            onData: (stream, session, cb) => {
                const cork = this.sessions.get(session.id)?.cork;
                cork?.hold();
                process.nextTick(() => cork?.release()); // the 354 smtp-server sends after this returns joins the batch
                const answer = (fn: () => void) => (cork ? cork.around(fn) : fn()); // N recipients' replies, one send
                void this.data(stream, session).then(
                    replies => answer(() => cb(null, replies as never)),
                    err => answer(() => cb(err))
                );
            },
            onClose: session => this.closed(session.id)
        });
        this.server.on('error', err => this.log.warn({ err }, 'connection error'));
    }

    /** SIGHUP: new access list, limits, TLS pair, recipient map and actions. A bad new setting is logged and the old kept. */
    reload(config: IntakeConfig): void {
        try {
            const next = withDefaults(config);
            const policy = this.makePolicy(next);
            const tls = policy.tls === 'disabled' ? undefined : loadTlsPair(next.tlsCert!, next.tlsKey!);
            const rules = DeliveryRules.create(next, this.log, this.rules);
            if (tls) this.server.updateSecureContext(tls);
            this.authenticator = this.opts.authenticator ?? this.makeAuthenticator(next);
            this.policy = policy;
            this.config = next;
            this.limiter.maxTotal = listenerCap(next.maxConnections);
            this.server.server.maxConnections = this.limiter.maxTotal + REFUSAL_ROOM;
            this.limiter.maxPerIp = next.maxConnectionsPerIp;
            this.rules.close(rules);
            this.rules = rules;
            this.log.info({ access: policy.accessSpec, untrusted: policy.untrusted, tls: policy.tls }, 'policy reloaded');
        } catch (err) {
            this.log.error({ err: (err as Error).message }, 'reload failed; keeping the previous policy');
        }
    }

    private makePolicy(config: FullIntakeConfig): ListenerPolicy {
        return new ListenerPolicy(config, this.opts.lmtp ? 'lmtp' : 'smtp', this.opts.listen.host ?? '');
    }

    private makeAuthenticator(config: FullIntakeConfig): Authenticator | undefined {
        if (this.opts.authenticator) return this.opts.authenticator;
        return config.imap ? new ImapAuthenticator({ target: config.imap, cacheTtlMs: config.authCacheTtl }) : undefined;
    }

    /** The bound address; a string (the socket path) for a unix socket. */
    async listen(): Promise<AddressInfo | string> {
        // beyond the listener's cap (and a few it can still tell "421"), Node closes new
        // connections at once: the fds stay for the other listeners and the downstream
        this.server.server.maxConnections = this.limiter.maxTotal + REFUSAL_ROOM;
        if (this.socketFile) {
            await listenUnix(this.server.server, this.socketFile, parseInt(this.config.lmtpSocketMode, 8));
            return this.socketFile;
        }
        const { host, port } = this.opts.listen;
        await new Promise<void>((resolve, reject) => {
            this.server.server.once('error', reject);
            this.server.listen(port, host, () => {
                this.server.server.off('error', reject);
                resolve();
            });
        });
        return this.server.server.address() as AddressInfo;
    }

    /** false once close() began: for /healthz (503 while draining). */
    get accepting(): boolean {
        return !this.draining;
    }

    /**
     * Drains, then closes: new connections and new transactions get 421 4.3.2, transactions
     * already under way finish (up to shutdownTimeout), then idle connections are closed.
     */
    async close(): Promise<void> {
        this.draining = true;
        const deadline = Date.now() + this.config.shutdownTimeout;
        while (this.txns.size > 0 && Date.now() < deadline) await new Promise(r => setTimeout(r, 20));
        if (this.txns.size > 0) this.log.warn({ open: this.txns.size }, 'shutdown timeout: abandoning open transactions (the MTA retries them)');
        const closed = new Promise<void>(resolve => this.server.close(() => resolve()));
        for (const c of this.server.connections as Set<unknown> as Set<Connection>) {
            c.send(421, reply.shuttingDown().message);
            c.close();
        }
        await closed;
        this.rules.close();
    }

    /** onConnect: access list, untrusted policy, connection limits. Returns a refusal or nothing. */
    private connect(session: SMTPServerSession): SmtpError | undefined {
        const ip = this.socketFile ? 'unix' : session.remoteAddress;
        const refuse = (reason: string, err: SmtpError, rule?: string) => {
            metrics.intakeRefusals.inc({ reason });
            this.log.warn({ session: session.id, ip, reason, rule, reply: `${err.responseCode} ${err.message}` }, 'connection refused');
            return err;
        };
        if (this.draining) return refuse('draining', reply.shuttingDown());
        // on the unix socket the file's permissions decided who could connect
        const admission: Admission = this.socketFile ? { trust: 'trusted', rule: 'unix socket' } : this.policy.admit(ip);
        if ('refused' in admission) {
            return refuse(admission.rule ? 'access' : 'untrusted', reply.connectionRefused(admission.refused), admission.rule);
        }
        const over = this.limiter.acquire(ip, !this.socketFile && this.policy.perAddressCapped(ip, admission));
        if (over) {
            const text = over === 'total' ? 'Too many connections, try again later' : 'Too many connections from your address, try again later';
            return refuse('limit', reply.connectionLimit(text));
        }
        const conn = this.connection(session.id);
        this.sessions.set(session.id, { ip, trust: admission.trust, cork: conn && new ReplyCork(() => conn._socket) });
        session.disabledCommands = this.policy.disabledCommands(admission.trust);
        this.helloTimers.set(session.id, setTimeout(() => this.helloTimeout(session.id), this.config.helloTimeout).unref());
        return undefined;
    }

    /** A client still silent (no LHLO/EHLO) after --hello-timeout: 421 and close. */
    private helloTimeout(sessionId: string): void {
        this.helloTimers.delete(sessionId);
        const conn = this.connection(sessionId);
        if (!conn || conn.hostNameAppearsAs || conn.secure) return; // after STARTTLS the name is asked again
        metrics.intakeRefusals.inc({ reason: 'timeout' });
        this.log.info({ session: sessionId, ip: this.sessions.get(sessionId)?.ip }, 'no LHLO/EHLO within the hello timeout: closed');
        conn.send(421, '4.4.2 Timeout waiting for LHLO/EHLO, closing connection');
        conn.close();
    }

    private connection(sessionId: string): Connection | undefined {
        for (const c of this.server.connections as Set<unknown> as Set<Connection>) if (c.id === sessionId) return c;
        return undefined;
    }

    /** A MAIL/RCPT handler with the session's replies held until its pipelined batch is answered (reply-cork.ts). */
    private corked(session: SMTPServerSession, work: () => Promise<void>, cb: (err?: Error | null) => void): void {
        const cork = this.sessions.get(session.id)?.cork;
        cork?.hold();
        void work()
            .then(
                () => cb(),
                (err: Error) => cb(err)
            )
            .finally(() => cork?.release());
    }

    private async auth(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<SMTPServerAuthenticationResponse> {
        const s = this.sessions.get(session.id);
        if (!s || !this.authenticator) throw reply.authNotAvailable();
        return this.authGate.check(auth, session, { ip: s.ip, tlsRequired: this.policy.tls === 'required' }, this.authenticator);
    }

    /** Untrusted clients must have TLS (when required) and AUTH, and send as themselves. */
    private checkSender(from: string, session: SMTPServerSession): void {
        if (this.sessions.get(session.id)?.trust !== 'untrusted') return;
        const refuse = (reason: string, err: SmtpError) => {
            metrics.intakeRefusals.inc({ reason });
            this.log.warn({ session: session.id, ip: session.remoteAddress, from, user: session.user, reason }, 'sender refused');
            return err;
        };
        if (this.policy.tls === 'required' && !session.secure) throw refuse('tls', reply.startTlsFirst());
        if (!session.user) throw refuse('auth', reply.authRequired());
        if (!senderAllowed(this.config.usernameFormat, String(session.user), from)) {
            throw refuse('sender', reply.senderNotOwned(String(session.user)));
        }
    }

    private async mailFrom(from: string, session: SMTPServerSession): Promise<void> {
        this.drop(session.id); // a new MAIL FROM (after RSET or a finished DATA) starts afresh
        if (this.draining) throw reply.shuttingDown();
        this.checkSender(from, session);
        const id = `${session.id}.${session.transaction}`;
        const downstream = await this.opts.deliverer.begin({ from, sessionId: id });
        this.txns.set(session.id, new IntakeTransaction(id, from, downstream));
    }

    /** Maps the address (recipients.ts: 550/451 refusals thrown there); a relayed one stays out of the downstream. */
    private async rcptTo(address: string, session: SMTPServerSession): Promise<void> {
        const txn = this.txns.get(session.id);
        if (!txn) throw reply.needMail();
        if (txn.has(address)) return;
        const to = await this.rules.recipients.resolve(address);
        if (to.kind === 'relay') txn.addRelay(address);
        else await txn.add({ address, user: to.user });
    }

    private async data(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<(string | Error)[] | string> {
        const txn = this.txns.get(session.id);
        if (!txn) throw reply.needRcpt();
        const tap = new HeaderTap();
        const guard = new SizeGuard(stream, () => txn.abort());
        // a client trickling bytes under the idle timeout must not hold a transaction forever
        const timer = setTimeout(() => this.timeout(session.id, txn), this.config.dataTimeout);
        stream.once('end', () => clearTimeout(timer));
        stream.once('close', () => clearTimeout(timer));
        if (this.opts.config.receivedHeader) tap.write(this.received(session, txn));
        // a client that disconnects mid-DATA destroys `stream`; that reaches the tap, so the
        // downstream sees a failed message (never commits a truncated one) instead of waiting
        chainBody(stream, guard, tap, () => txn.abort());
        // events carry the full classification (voicemail audio, fax parts): known at the end
        const classified = Promise.all([tap.header, tap.parts]).then(([h, parts]) => safeClassify(this.log, h, parts));
        const started = process.hrtime.bigint();
        const rules = this.rules; // a reload during DATA must not change this message's routes
        const plan = await planRoutes(txn, tap, rules, this.opts.deliverer, this.log);
        const records = (classification: Classification) =>
            plan.local.map<DeliveryRecord>((r, i) => ({
                sessionId: txn.id,
                rcptIndex: i,
                rcpt: r.address,
                user: r.user,
                from: txn.from,
                classification,
                size: tap.bytes
            }));
        plan.body.once('end', () => {
            void classified.then(c => {
                if (!guard.exceeded) for (const rec of records(c)) this.opts.observer.expect(rec);
            });
        });
        const sent = await sendCopies(plan, txn, rules);
        this.txns.delete(session.id);
        metrics.downstreamLatency.observe({ target: this.opts.deliverer.target }, Number(process.hrtime.bigint() - started) / 1e9);
        if (guard.exceeded) return []; // smtp-server answers 552 itself; every copy was aborted
        const classification = await classified;
        const recs = records(classification);
        setImmediate(() => {
            this.report(recs, sent.local);
            this.reportElsewhere(txn, plan, sent.replies, classification);
        });
        return this.opts.lmtp ? sent.replies.map(replyFor) : smtpReply(sent.replies);
    }

    /** Relayed and refused copies: logged and counted, no newmail (nothing was stored here). */
    private reportElsewhere(txn: IntakeTransaction, plan: Plan, replies: Outcome[], c: Classification): void {
        plan.routes.forEach((route, i) => {
            if (route.to === 'local') return;
            const o = replies[i];
            const rcpt = txn.entries[i].address;
            if (route.to === 'refused') {
                metrics.messages.inc({ class: c.class, outcome: 'refused' });
                this.log.info({ session: txn.id, rcpt, user: txn.entries[i].user, class: c.class, reply: route.error.message }, 'refused by message action');
            } else if (o.ok) {
                metrics.messages.inc({ class: c.class, outcome: 'relayed' });
                this.log.info({ session: txn.id, rcpt, class: c.class, relayedTo: route.address, reply: o.text }, 'relayed');
            } else {
                metrics.messages.inc({ class: c.class, outcome: o.error.permanent ? 'refused' : 'deferred' });
                this.log.warn({ session: txn.id, rcpt, relayedTo: route.address, code: o.error.responseCode, reason: o.error.message }, 'not relayed');
            }
        });
    }

    private report(recs: DeliveryRecord[], outcomes: Outcome[]): void {
        recs.forEach((rec, i) => {
            const o = outcomes[i] ?? { ok: false, error: reply.noReply() };
            metrics.messages.inc({ class: rec.classification.class, outcome: o.ok ? 'stored' : o.error.permanent ? 'refused' : 'deferred' });
            if (o.ok) {
                this.log.info({ session: rec.sessionId, rcpt: rec.rcpt, user: rec.user, class: rec.classification.class, size: rec.size, downstream: o.downstreamId }, 'stored');
                this.opts.observer.stored({ ...rec, downstreamId: o.downstreamId });
            } else {
                this.log.warn({ session: rec.sessionId, rcpt: rec.rcpt, code: o.error.responseCode, reason: o.error.message }, 'not stored');
                this.opts.observer.failed(rec);
            }
        });
    }

    private received(session: SMTPServerSession, txn: IntakeTransaction): string {
        const host = this.opts.hostname ?? 'vmbridge';
        const peer = session.remoteAddress ? `([${session.remoteAddress}])` : '(unix socket)';
        return `Received: from ${session.hostNameAppearsAs || 'unknown'} ${peer}\r\n\tby ${host} (vmbridge) with ${this.opts.lmtp ? 'LMTP' : 'ESMTP'} id ${txn.id};\r\n\t${new Date().toUTCString()}\r\n`;
    }

    private timeout(sessionId: string, txn: IntakeTransaction): void {
        metrics.intakeRefusals.inc({ reason: 'timeout' });
        this.log.warn({ session: txn.id }, 'DATA timeout: transaction abandoned');
        txn.abort();
        this.txns.delete(sessionId);
        const conn = this.connection(sessionId);
        conn?.send(421, '4.4.2 DATA timeout, closing connection');
        conn?.close();
    }

    private closed(sessionId: string): void {
        clearTimeout(this.helloTimers.get(sessionId));
        this.helloTimers.delete(sessionId);
        this.drop(sessionId);
        const s = this.sessions.get(sessionId);
        if (s) this.limiter.release(s.ip);
        this.sessions.delete(sessionId);
    }

    private drop(sessionId: string): void {
        this.txns.get(sessionId)?.abort();
        this.txns.delete(sessionId);
    }
}

/** Stops forwarding the moment smtp-server marks the message oversized, and aborts downstream. */
class SizeGuard extends Transform {
    exceeded = false;
    constructor(
        private readonly source: SMTPServerDataStream,
        private readonly onExceeded: () => void
    ) {
        super();
    }
    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        if (this.exceeded) return cb();
        if (this.source.sizeExceeded) {
            this.exceeded = true;
            this.onExceeded();
            return cb();
        }
        cb(null, chunk);
    }
}

function replyFor(o: Outcome): string | Error {
    return o.ok ? o.text : o.error;
}

/** SMTP has one reply for all recipients: 250 when every copy is stored; a retry when any copy
 * failed temporarily (duplicates are possible, loss is not); the refusal when none was stored. */
function smtpReply(outcomes: Outcome[]): string {
    const failed = outcomes.filter(o => !o.ok) as { ok: false; error: SmtpError }[];
    if (failed.length === 0) return (outcomes[0] as { text: string }).text;
    const temp = failed.find(f => !f.error.permanent);
    if (temp) throw temp.error;
    if (failed.length === outcomes.length) throw failed[0].error;
    return 'Ok: stored for some recipients; refused: ' + failed.map(f => f.error.message).join('; ');
}

function withDefaults(config: IntakeConfig): FullIntakeConfig {
    const defined = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
    return { ...(ConfigSchema.parse({}) as FullIntakeConfig), ...defined } as FullIntakeConfig;
}

/** RCPT refusals (5xx, e.g. Dovecot's 550) and deferrals (4xx, e.g. 451 with Dovecot down), by code. */
function countRcptFailure(err: { responseCode?: number }): void {
    const code = err.responseCode ?? 451;
    metrics.rcptFailures.inc({ result: code >= 500 ? 'refused' : 'deferred', code: String(code) });
}
