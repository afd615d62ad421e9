#!/usr/bin/env node
// Acts like one OpenChange server session: binds an NN_PULL socket, adds its URL to the user's
// `resolver:<cn>` NDR list in memcached (the record OpenChange writes, read unchanged by both
// OpenChange's Dovecot plugin and vmbridge) and prints each notification it receives.
//   node examples/subscriber/openchange-session.mjs alice tcp://127.0.0.1:5555 [--SERVER=127.0.0.1:11211] [username|email]
// Unlike OpenChange, it removes its URL again on exit. Payloads are NewMail only; the folder is
// Dovecot's storage name (mailbox_get_name(): modified UTF-7, the mailbox list's separator) and the
// separator the list's, as OpenChange's Dovecot plugin sends them. test/openchange/session.c is the
// same in C on libnanomsg and libmemcached.
import nano from 'nanomsg';
import { createMemcachedClient, decodeNotification, decodeResolverValue, encodeResolverValue, resolverKey } from 'vmbridge';

const [user, url = 'tcp://127.0.0.1:5555', resolver = '--SERVER=127.0.0.1:11211', cn = 'username'] = process.argv.slice(2);
if (!user) {
    console.error('usage: openchange-session.mjs <dovecot-user> [url] [resolver] [username|email]');
    process.exit(64);
}
const key = resolverKey(user, cn);
const mc = createMemcachedClient(resolver);

async function update(change) {
    const { value } = await mc.get(key);
    const current = value ? decodeResolverValue(value) : { ok: true, value: [] };
    const urls = change(current.ok ? current.value.filter(u => u !== url) : []);
    if (urls.length) await mc.set(key, encodeResolverValue(urls), { expires: 0 });
    else await mc.delete(key);
}

const pull = nano.socket('pull');
if (pull.bind(url) === null) {
    console.error(`cannot bind ${url}`);
    process.exit(69);
}
await update(urls => [...urls, url]);
console.error(`registered ${url} under ${key}`);

pull.on('data', buf => {
    const n = decodeNotification(buf);
    console.log(
        n.ok
            ? `flags=0x${n.value.flags.toString(16).padStart(4, '0')} backend=${n.value.backend} ${n.value.folder}${n.value.separator}${n.value.eml}`
            : `undecodable payload: ${n.error}`
    );
});

const stop = async () => {
    pull.close();
    await update(urls => urls).catch(err => console.error(`could not remove ${url}: ${err.message}`));
    mc.close();
    process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
