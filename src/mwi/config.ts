// serve's MWI options, as a zod shape the main ConfigSchema spreads in (keys = long flags in
// camelCase). --imap and --ami themselves are in the main schema.
import type { ImapTarget } from '../imap/target.js';
import type { AmiTarget } from './ami.js';
import { z } from 'zod';
import { AMI_MODES } from './ami-notifier.js';

const ms = z.coerce.number().int().nonnegative();

export const MwiConfigShape = {
    /** voicemail.conf (Asterisk syntax): boxes → imapuser, imapfolder, imapvmshareid. */
    voicemailConf: z.string().min(1).optional(),
    /** refresh: AMI VoicemailRefresh (app_voicemail recounts); mwiupdate: AMI MWIUpdate with our counts. */
    amiMode: z.enum(AMI_MODES).default('refresh'),
    /** Per-box coalescing window for recounts (ms). */
    mwiDebounce: ms.default(75),
    /** Periodic full recount of every known box every N ms; 0 = only at start, AMI reconnects and event gaps (always on). */
    mwiResync: ms.default(0),
    /** Pacing of full recounts, boxes per second (10,000 boxes at 100/s: 100 s). */
    mwiResyncRate: z.coerce.number().positive().default(100),
    /** Settle time after Asterisk publishes a disagreeing MessageWaiting before recount + correction (ms, < 1 s); 0 = do not watch Asterisk. */
    mwiConverge: ms.max(1000).default(250),
    /** Corrections per box per minute at most; more are suppressed (counted). */
    mwiCorrections: z.coerce.number().int().positive().default(3),
    /** externnotify-compatible command: <cmd> context extension new old urgent. */
    externnotify: z.string().min(1).optional(),
    /** Dovecot's auth_master_user_separator, for `<user>*<master>` logins. */
    imapMasterSeparator: z.string().min(1).default('*')
};

/** The MWI slice of serve's Config: its own options plus the parsed --imap target and --ami. */
export type MwiConfig = z.infer<z.ZodObject<typeof MwiConfigShape>> & { imap?: ImapTarget; ami?: AmiTarget };
