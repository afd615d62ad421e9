// Runs every check in order and prints one line each: `ok`, `skip` or `fail` with the fix.
// Exit code: 0 when nothing failed; 78 (EX_CONFIG) when any failure is a configuration problem,
// else 69 (EX_UNAVAILABLE: a dependency is down or unreachable).
import { ami } from './ami.js';
import { EX_CONFIG, EX_UNAVAILABLE, type Check, type DoctorContext, type Verdict } from './check.js';
import { dovecotHook } from './dovecot-hook.js';
import { dovecotLmtp } from './dovecot-lmtp.js';
import { hookKey } from './hook-key.js';
import { imapMaster } from './imap-master.js';
import { ingestProbe } from './ingest-probe.js';
import { listeners } from './listeners.js';
import { luaModules } from './lua-modules.js';
import { memcached } from './memcached.js';
import { voicemailFolders } from './voicemail-folders.js';

export const CHECKS: readonly Check[] = [dovecotHook, luaModules, hookKey, listeners, ingestProbe, dovecotLmtp, imapMaster, memcached, ami, voicemailFolders];

export function format(name: string, v: Verdict): string {
    const what = v.subject ? `${name} ${v.subject}` : name;
    const line = `${v.status.padEnd(4)} ${what}: ${v.detail}`;
    return v.status === 'fail' ? `${line}\n     fix: ${v.fix}` : line;
}

export async function runDoctor(ctx: DoctorContext, write: (line: string) => void, checks = CHECKS): Promise<number> {
    let code = 0;
    for (const check of checks) {
        let verdicts: Verdict[];
        try {
            const v = await check.run(ctx);
            verdicts = Array.isArray(v) ? v : [v];
        } catch (err) {
            verdicts = [{ status: 'fail', detail: `check crashed: ${(err as Error).message}`, fix: 'report this as a vmbridge bug', code: EX_UNAVAILABLE }];
        }
        for (const v of verdicts) {
            write(format(check.name, v));
            if (v.status === 'fail') code = code === EX_CONFIG || v.code === EX_CONFIG ? EX_CONFIG : EX_UNAVAILABLE;
        }
    }
    return code;
}
