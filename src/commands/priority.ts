// serve's CPU priority (--nice). Beside Dovecot on a busy machine every millisecond serve runs is
// one Dovecot's delivery does not (issue 22: LMTP throughput with the native driver at 0.86–0.90
// of no hook with serve at nice 0, 0.93–0.98 at nice 10: bench/README "serve yields the CPU to
// Dovecot"). At a lower priority serve runs when Dovecot waits, reads the hook's batches several
// at a time, and spends less CPU per batch; idle cores serve it as before.
// `auto` lowers it only once Dovecot's native driver connects: its connections are shared and
// long-lived, so what serve reads late waits in their buffers (1 MB per Dovecot process). The Lua
// script opens a connection per delivery that must be accepted within its 20 ms timeout; a serve
// behind Dovecot lost 2–16 % of those batches at nice 10 (none at nice 0), so with it serve keeps the
// priority it was started with.
// Lowering one's own priority needs no privilege; raising it back does, so a value below the
// current one is left alone (a unit's Nice=15 stays 15).
import { readdirSync } from 'node:fs';
import os from 'node:os';
import type { Logger } from '../log.js';

/** What `--nice auto` lowers to once the native driver is heard. */
export const AUTO_NICE = 10;

/**
 * Applies --nice: a number at once; for `auto`, returns what the bridge calls when the native
 * driver proves its key (Bridge's onNativeDriver), which lowers the priority the first time.
 */
export function applyNice(nice: number | 'auto', log: Logger): () => void {
    const apply = (want: number, why: string) => {
        const got = lowerPriority(want);
        if (want > 0 && got < want) log.warn({ nice: got, wanted: want }, 'could not lower the CPU priority (--nice)');
        else log.info({ nice: got, why }, 'CPU priority');
    };
    if (nice !== 'auto') {
        apply(nice, '--nice');
        return () => undefined;
    }
    let done = false;
    return () => {
        if (done) return;
        done = true;
        apply(AUTO_NICE, 'native driver');
    };
}

/**
 * Makes every thread of this process at least `nice` (0: leave it). On Linux the nice value is per
 * thread and a new thread takes its creator's, so V8's and libuv's threads are set one by one and
 * the ones started later inherit. Returns the main thread's value afterwards.
 */
function lowerPriority(nice: number): number {
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
