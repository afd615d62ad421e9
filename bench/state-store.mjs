// The embedded state store's cost (bench/README.md "State store"): events journaled per second in
// 1,000-event transactions, the latency of a one-event commit and the main thread's busy time for
// it (commits run on the main thread with synchronous = NORMAL; the fsync is the background
// checkpoint's, src/state/checkpoint.ts).
// Run: npx tsc -p . && node bench/state-store.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteJournal } from '../dist/publish/journal-sqlite.js';
import { makeEvent } from '../dist/events/event.js';

const ev = (user, seq) => makeEvent({ id: `${user}.${seq}`, type: 'flag', user, mailbox: 'INBOX', uid: seq, seq, class: 'voicemail', flags: { set: ['\\Seen'], cleared: [] } });

{
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-bench-'));
    const j = new SqliteJournal(dir, { maxCount: 1_000_000 });
    const N = 70_000;
    const first = await j.allocate('bulk', N);
    const evs = Array.from({ length: N }, (_, i) => ev('bulk', first + i));
    let t = performance.now();
    await j.append(evs);
    const bulk = N / ((performance.now() - t) / 1000);
    const M = 300;
    t = performance.now();
    const elu = performance.eventLoopUtilization();
    for (let i = 0; i < M; i++) {
        const s = await j.allocate(`u${i % 20}`, 1);
        await j.append([ev(`u${i % 20}`, s)]);
    }
    const single = (performance.now() - t) / M;
    const mainBusy = performance.eventLoopUtilization(elu).active / M;
    // 20 users' single events in the same turn of the loop: one group commit.
    t = performance.now();
    for (let r = 0; r < 50; r++) await Promise.all(Array.from({ length: 20 }, async (_, u) => j.append([ev(`g${u}`, await j.allocate(`g${u}`, 1))])));
    const grouped = (performance.now() - t) / 1000;
    console.log(
        `${Math.round(bulk)} events/s in 1,000-event transactions; ${single.toFixed(2)} ms per one-event commit (main thread busy ${mainBusy.toFixed(3)} ms of it); ${grouped.toFixed(3)} ms per event when 20 users' events share a commit`
    );
    await j.close();
    rmSync(dir, { recursive: true, force: true });
}
