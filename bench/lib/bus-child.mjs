// SUB subscribers on the bus in their own process, as real subscriber programs are: the benchmark
// process then measures the bridge, not one process reading 11 frames per event.
// argv[2]: JSON { url, n }. IPC: { tag } starts counting frames whose id carries that tag (counts
// reset); { report: true } answers { counts, last } (last arrival, process.hrtime ns as a string).
import { busSubscriber } from './subscribers.mjs';

const { url, n } = JSON.parse(process.argv[2]);
let tagBytes = Buffer.from('"id":"probe.');
const counts = Array(n).fill(0);
let last = 0n;
const subs = await Promise.all(
    Array.from({ length: n }, (_, i) =>
        busSubscriber(url, (buf, t) => {
            if (buf.indexOf(tagBytes) < 0) return;
            counts[i]++;
            last = t;
        })
    )
);
process.on('message', msg => {
    if (msg.tag) {
        tagBytes = Buffer.from(`"id":"${msg.tag}.`);
        counts.fill(0);
    }
    if (msg.report) process.send({ counts, last: String(last) });
    if (msg.stop) {
        subs.forEach(s => s.close());
        process.disconnect();
    }
});
process.send({ ready: true });
