// serve's MWI options, as a zod shape the main ConfigSchema spreads in (keys = long flags in
// camelCase). --imap and --ami themselves are in the main schema.
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
    /** Full recount of every known box every N ms; 0 = off. */
    mwiResync: ms.default(0),
    /** externnotify-compatible command: <cmd> context extension new old urgent. */
    externnotify: z.string().min(1).optional(),
    /** Dovecot's auth_master_user_separator, for `<user>*<master>` logins. */
    imapMasterSeparator: z.string().min(1).default('*')
};

export const MwiConfigSchema = z.object({
    ...MwiConfigShape,
    imap: z.string().optional(),
    ami: z.string().optional()
});
export type MwiConfig = z.infer<typeof MwiConfigSchema>;
