// Where each accepted recipient's copy of a message goes: the downstream (delivered), the smart
// host (unknown recipients under `relay`, per-class relay actions) or nowhere (per-class reject,
// with the reason as that recipient's reply). Class actions need the header, so when they are
// configured the body is held until the header block is complete and decided on — at most the
// header and the chunk it ended in are kept in memory. The downstream has seen RCPT live (LMTP)
// but no DATA yet, so a recipient it must not deliver to is dropped by restarting its
// transaction with the others: nothing to spool, nothing committed twice. One pass over the
// MTA's stream feeds the downstream and the smart host alike (tee), byte for byte.
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { classify, type Classification } from '../classify/classify.js';
import type { HeaderTap } from '../classify/header-tap.js';
import type { PartInfo } from '../classify/mime-scan.js';
import { SmtpError, type Deliverer, type Outcome, type Recipient } from '../deliver/deliverer.js';
import { relay } from '../deliver/relay.js';
import { drain, tee } from '../deliver/tee.js';
import type { Logger } from '../log.js';
import type { DeliveryRules } from './rules.js';
import type { IntakeTransaction } from './transaction.js';
import { reply } from '../smtp/replies.js';

export type Route = { to: 'local' } | { to: 'relay'; address: string } | { to: 'refused'; error: SmtpError };

export interface Plan {
    /** The message as it is to be sent on (the tap itself, or the held bytes and then the rest). */
    body: Readable;
    /** One per txn.entries, in RCPT order. */
    routes: Route[];
    /** Recipients whose copy the downstream gets, in the order it answers for them. */
    local: Recipient[];
}

export interface Sent {
    /** One per txn.entries, in RCPT order. */
    replies: Outcome[];
    /** One per plan.local. */
    local: Outcome[];
}

/** Decides each recipient's route (awaiting the header only when class actions need it). */
export async function planRoutes(txn: IntakeTransaction, tap: HeaderTap, handling: DeliveryRules, deliverer: Deliverer, log: Logger): Promise<Plan> {
    const routes: Route[] = txn.entries.map(e => (e.user === undefined ? { to: 'relay', address: e.address } : { to: 'local' }));
    const actions = handling.actions;
    if (!actions || txn.recipients.length === 0) return { body: tap, routes, local: txn.recipients };
    const { header, body } = await holdHeader(tap);
    const classification = safeClassify(log, header); // header-time: parts are not known before the body
    txn.entries.forEach((e, i) => {
        if (e.user === undefined) return;
        const d = actions.decide(classification, header, e.user);
        if (d.action === 'relay') routes[i] = { to: 'relay', address: d.to };
        else if (d.action === 'reject') routes[i] = { to: 'refused', error: d.error };
    });
    await keepOnlyLocal(txn, routes, deliverer);
    return { body, routes, local: txn.entries.filter((e, i): e is Recipient => e.user !== undefined && routes[i].to === 'local') };
}

/** Sends the copies; resolves once the downstream and the smart host have answered. */
export async function sendCopies(plan: Plan, txn: IntakeTransaction, handling: DeliveryRules): Promise<Sent> {
    const targets = [...new Set(plan.routes.flatMap(r => (r.to === 'relay' ? [r.address] : [])))];
    const hasLocal = plan.local.length > 0;
    if (!hasLocal) txn.downstream.abort();
    let local: Promise<Outcome[]>;
    let relayed: Promise<Outcome[]> = Promise.resolve([]);
    if (targets.length === 0) {
        // the common case: the MTA's stream goes straight to the downstream, nothing in between
        if (hasLocal) local = txn.downstream.data(plan.body);
        else {
            drain(plan.body);
            local = Promise.resolve([]);
        }
    } else {
        const relayCopy = new PassThrough();
        const localCopy = hasLocal ? new PassThrough() : undefined;
        const copies = localCopy ? [localCopy, relayCopy] : [relayCopy];
        // a failed or abandoned source must fail every copy, so none ends with a final dot
        const fail = (err: Error) => copies.forEach(c => c.destroy(err));
        const onAbort = () => fail(reply.aborted());
        if (txn.signal.aborted) onAbort();
        txn.signal.addEventListener('abort', onAbort, { once: true });
        tee(plan.body, copies, txn.signal)
            .catch(fail)
            .finally(() => txn.signal.removeEventListener('abort', onAbort));
        local = localCopy ? txn.downstream.data(localCopy) : Promise.resolve([]);
        relayed = relay(handling.smartHost!, { from: txn.from, to: targets }, relayCopy);
    }
    const [localOut, relayOut] = await Promise.all([local, relayed]);
    // built only when needed: an SmtpError (a stack trace) per message showed in delivery profiles
    const noReply = (): Outcome => ({ ok: false, error: reply.noReply('no reply from the downstream') });
    let k = 0;
    const replies = plan.routes.map<Outcome>(r => {
        if (r.to === 'refused') return { ok: false, error: r.error };
        if (r.to === 'relay') return relayOut[targets.indexOf(r.address)];
        return localOut[k++] ?? noReply();
    });
    return { replies, local: plan.local.map((_, i) => localOut[i] ?? noReply()) };
}

export function safeClassify(log: Logger, header: Buffer, parts?: PartInfo[]): Classification {
    try {
        return classify(header, parts);
    } catch (err) {
        log.error({ err }, 'classification failed; treating as email');
        return { class: 'email' };
    }
}

/**
 * LMTP forwards RCPT live: when the downstream holds a recipient that must not get this copy,
 * its transaction is abandoned (before DATA, so nothing is stored) and a new one is opened with
 * the others. A recipient the new transaction refuses gets that refusal as its reply.
 */
async function keepOnlyLocal(txn: IntakeTransaction, routes: Route[], deliverer: Deliverer): Promise<void> {
    const keep = txn.entries.flatMap((e, i) => (e.user !== undefined && routes[i].to === 'local' ? [i] : []));
    if (keep.length === txn.recipients.length) return;
    txn.downstream.abort();
    if (keep.length === 0) return;
    const refuse = (i: number, err: unknown) => {
        routes[i] = { to: 'refused', error: err instanceof SmtpError ? err : reply.downstreamUnavailable((err as Error).message) };
    };
    try {
        txn.downstream = await deliverer.begin({ from: txn.from, sessionId: txn.id });
    } catch (err) {
        for (const i of keep) refuse(i, err);
        return;
    }
    if (txn.signal.aborted) txn.downstream.abort(); // the client went away meanwhile
    for (const i of keep) {
        await txn.downstream.addRecipient(txn.entries[i] as Recipient).catch(err => refuse(i, err));
    }
}

/** Reads until the header block is complete, then returns it with the whole message again (held bytes first). */
async function holdHeader(tap: HeaderTap): Promise<{ header: Buffer; body: Readable }> {
    const held: Buffer[] = [];
    const hold = (chunk: Buffer) => held.push(chunk);
    tap.on('data', hold);
    const header = await tap.header;
    tap.pause();
    tap.off('data', hold);
    const body = new PassThrough();
    for (const chunk of held) body.write(chunk);
    // an error on the tap (client gone) reaches the body, so no copy of it is ever committed
    pipeline(tap, body, () => undefined);
    return { header, body };
}
