// Why the embedded journal may commit without an fsync each (synchronous = NORMAL): a commit then
// survives the process being killed (it is in the OS's page cache), but not an OS crash or a power
// loss before the next checkpoint (state/checkpoint.ts, about a second). Seqs given out in those
// lost commits would, continued from the store, be given out again for other events, which
// subscribers would take for ones they already have. So the store is marked open with the
// machine's boot id, in a FULL (fsynced) commit. A store found still marked open from another
// boot may have lost its last commits: every user's seq then jumps far above what is stored, and
// replaying cursors get a reset, as after a lost store; a seq never repeats. A process crash in
// the same boot loses nothing and continues seamlessly.
import { readFileSync } from 'node:fs';
import { readMeta, writeMeta, type StateDb } from '../state/db.js';
import { SEQ_JUMP_MARGIN } from '../limits.js';

const MARKER = 'open-boot';
/** The meta key of the seq every user not yet seen starts above (journal-sqlite.ts). */
export const SEQ_BASE = 'seq-base';

/** Linux's id of this boot; '' where unknown (every unclean stop then counts as a possible power loss). */
export function currentBootId(): string {
    try {
        return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
        return '';
    }
}

/** Marks the store open for this boot (after jumping the seqs if its last commits may be lost),
 * before its commits skip the fsync (state/checkpoint.ts syncInBackground). Returns the seq base
 * jumped to, if it jumped. */
export function openForBoot(db: StateDb, bootId: string): number | undefined {
    const marker = readMeta(db, MARKER);
    const lost = marker !== undefined && (marker !== bootId || !bootId);
    return db.transaction(() => {
        const jumped = lost ? jump(db) : undefined;
        writeMeta(db, MARKER, bootId);
        return jumped;
    })(); // still synchronous = FULL: on disk before any commit that skips the fsync
}

/** A clean stop: the marker goes in a FULL commit, whose fsync of the WAL also makes every commit
 * before it durable. */
export function closeForBoot(db: StateDb): void {
    db.pragma('synchronous = FULL');
    writeMeta(db, MARKER, undefined);
}

/** Every user's counter (and the base of users not yet seen) moves above anything given out. */
function jump(db: StateDb): number {
    const top = (db.prepare('SELECT max(current) FROM seq').pluck().get() as number | null) ?? 0;
    const old = Number(readMeta(db, SEQ_BASE) ?? 0);
    const base = Math.max(Date.now() * 1000, top + SEQ_JUMP_MARGIN, old + SEQ_JUMP_MARGIN);
    db.prepare('UPDATE seq SET current = max(current, ?)').run(base);
    writeMeta(db, SEQ_BASE, String(base));
    return base;
}
