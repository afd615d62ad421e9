#!/usr/bin/env node
// A small subscriber program on the vmbridge library: one line per event.
//   node examples/subscriber/subscriber.mjs bus alice                 (SUB to serve's bus)
//   node examples/subscriber/subscriber.mjs push alice tcp://127.0.0.1:5557 [--SERVER=127.0.0.1:11211]
// `push` registers in memcached (serve must run with the same --resolver) and removes itself on exit.
import { listen, subscribe } from 'vmbridge';

const [mode = 'bus', user, bind, resolver] = process.argv.slice(2);
const ac = new AbortController();
process.once('SIGINT', () => ac.abort());
process.once('SIGTERM', () => ac.abort());

const events = mode === 'push' ? subscribe({ user, bind: bind ?? 'tcp://127.0.0.1:5557', resolver, signal: ac.signal }) : listen({ user, signal: ac.signal });

for await (const ev of events) {
    const what =
        ev.type === 'mwi'
            ? `${ev.mwi.mailbox} new=${ev.mwi.new} old=${ev.mwi.old}`
            : ev.type === 'move'
              ? `${ev.from.mailbox} -> ${ev.to.mailbox}`
              : ev.type === 'flag'
                ? `+${ev.flags.set.join(',')} -${ev.flags.cleared.join(',')}`
                : `${ev.mailbox ?? ''}${ev.uid !== undefined ? '/' + ev.uid : ''}`;
    const vm = ev.voicemail ? ` from ${ev.voicemail.callerIdName ?? ''} <${ev.voicemail.callerIdNum ?? '?'}> ${ev.voicemail.durationSec ?? '?'}s` : '';
    console.log(`${ev.ts} ${ev.user} ${ev.type} ${what}${ev.class ? ' ' + ev.class : ''}${vm}`);
}
