// A child process running the Bridge in-process (dist/bridge.js) whose event entry
// (`bridge.events.emit`, where deliveries and Dovecot's hook feed in) the parent drives over IPC:
// { emit: { count, rate, users, type } } → emits paced events whose id carries the monotonic
// clock (process.hrtime, shared by every process on the machine) for latency measurements.
// argv[2]: JSON of serve's flags.
import { ensureBuilt, dist } from './env.mjs';

ensureBuilt();
const { Bridge } = await dist('bridge.js');
const { loadConfig } = await dist('config.js');
const { createLogger } = await dist('log.js');
const { makeEvent } = await dist('events/event.js');
const { applyNice } = await dist('commands/priority.js');

const config = loadConfig(JSON.parse(process.argv[2]), {});
const log = createLogger(config.logLevel);
const bridge = new Bridge(config, log, { onNativeDriver: applyNice(config.nice, log) }); // as `vmbridge serve` does
await bridge.start();
const stages = process.env.BENCH_STAGES === '1' ? recordStages(bridge) : undefined;

/** Event n is due n/rate s after the start; a late wakeup catches up with every event due by then.
 * `seconds`: the time the events took to send, from the start to the end of the last one's slot
 * (sent + 1/rate), so count/seconds is the rate actually sent (the offered one when on time).
 * `start`: process.hrtime ns (string) of the first slot, the window's start for delivery rates. */
async function emit({ count, rate, users, type = 'flag', tag = 'e' }) {
    const start = process.hrtime.bigint();
    const t0 = performance.now();
    let last = t0;
    let n = 0;
    while (n < count) {
        const due = Math.min(count, rate ? Math.floor(((performance.now() - t0) * rate) / 1000) + 1 : n + 1000);
        for (; n < due; n++) {
            const user = users[n % users.length];
            bridge.events.emit(
                makeEvent({ id: `${tag}.${process.hrtime.bigint()}.${n}`, type, user, mailbox: 'INBOX', uid: n + 1, uidValidity: 1, flags: { set: ['\\Seen'], cleared: [] } })
            );
        }
        last = performance.now();
        // then yield for a millisecond (I/O runs meanwhile); not after the last one
        if (n < count) await new Promise(r => (rate ? setTimeout(r, 1) : setImmediate(r)));
    }
    return { seconds: (last - t0) / 1000 + (rate ? 1 / rate : 0), start: String(start) };
}

process.on('message', async msg => {
    if (msg.emit) process.send({ emitted: await emit(msg.emit) });
    if (msg.stages) process.send({ stages: stages ? Object.fromEntries(stages.take()) : {} });
    if (msg.stop) {
        await bridge.stop();
        process.send({ stopped: true });
        process.disconnect();
        // Sockets of the pools may still hold the loop; exit writes the --cpu-prof profile (a kill would not).
        process.exitCode = 0;
        setTimeout(() => process.exit(0), 200).unref();
    }
});
process.send({ ready: true });

/** BENCH_STAGES=1: when each Dovecot event or delivery passed the bridge's stages (process.hrtime
 * ns as strings, keyed as the latency bench keys arrivals: a newmail's Message-ID, else user:uid; first passage
 * only): `hook` the ingest handed the batch on, `index`/`indexed` its uid index lookup, `entry` it entered bridge.events, `out` it left the
 * seq/journal stage for the bus and the pusher. Wrapped on the instances, so src/ stays as shipped. */
function recordStages(b) {
    const seen = new Map();
    const mark = (key, stage) => {
        let s = seen.get(key);
        if (!s) seen.set(key, (s = {}));
        s[stage] ??= String(process.hrtime.bigint());
    };
    const evKey = ev => (ev.type === 'newmail' ? ev.messageId : `${ev.user}:${ev.uid}`);
    const wrap = (obj, name, before) => {
        const orig = obj[name].bind(obj);
        obj[name] = (...args) => (before(...args), orig(...args));
    };
    wrap(b.correlator, 'onBatch', batch => batch.events.forEach(e => mark(e.name === 'MessageNew' ? e.message_id : `${batch.user}:${e.uid}`, 'hook')));
    const indexGet = b.index.get.bind(b.index);
    b.index.get = ref => {
        const key = `${ref.user}:${ref.uid}`;
        mark(key, 'index');
        return indexGet(ref).finally(() => mark(key, 'indexed'));
    };
    wrap(b.events, 'emit', ev => mark(evKey(ev), 'entry'));
    wrap(b.bus, 'emit', ev => mark(evKey(ev), 'out'));
    return {
        take: () => {
            const all = [...seen];
            seen.clear();
            return all;
        }
    };
}
