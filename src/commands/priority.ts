// serve's CPU priority (--nice). Beside Dovecot on a busy machine every millisecond serve runs is
// one Dovecot's delivery does not (issue 22: LMTP throughput with the hook at 0.86–0.90 of without
// at nice 0, 0.93–0.98 at nice 10, bench/README "serve yields the CPU to Dovecot"). At a lower
// priority serve runs when Dovecot waits, reads the hook's batches several at a time, and spends
// less CPU per batch; idle cores serve it as before, so events stay as quick when there is room.
// Lowering one's own priority needs no privilege; raising it back does, so a value below the
// current one is left alone (a unit's Nice=15 stays 15).
import { readdirSync } from 'node:fs';
import os from 'node:os';

/**
 * Makes every thread of this process at least `nice` (0: leave the priority as started). On Linux
 * the nice value is per thread and a new thread takes its creator's, so V8's and libuv's threads
 * started before this are set one by one; the ones started later inherit. Returns the main
 * thread's value afterwards.
 */
export function lowerPriority(nice: number): number {
    if (nice > 0) {
        for (const tid of threads()) {
            try {
                if (os.getPriority(tid) < nice) os.setPriority(tid, nice);
            } catch {
                // a thread that ended meanwhile
            }
        }
    }
    return os.getPriority();
}

function threads(): number[] {
    try {
        return readdirSync('/proc/self/task').map(Number);
    } catch {
        return [process.pid]; // no /proc (not Linux): the process as a whole
    }
}
