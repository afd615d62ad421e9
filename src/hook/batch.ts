// What the Lua script (dovecot/vmbridge.lua) posts: one batch per mail transaction.
import { z } from 'zod';
import { CLASSIFY_FIELDS_MAX } from '../classify/fields.js';

const num = z.number().int().nonnegative();
const strList = z.array(z.string()).optional();

export const DovecotEventSchema = z.object({
    name: z.enum(['MessageNew', 'MessageAppend', 'MessageExpunge', 'MessageRead', 'MessageTrash', 'FlagsSet', 'FlagsClear']),
    mailbox: z.string(),
    uid: num,
    uid_validity: num,
    message_id: z.string().optional(),
    /** MessageNew/MessageAppend: Dovecot's mailbox_get_name() and, when the hook can tell, the list's hierarchy separator (OpenChange payloads). */
    // Never a reason to drop the batch: an odd value is just not used.
    storage_name: z.string().max(10_000).optional().catch(undefined),
    storage_sep: z.string().length(1).optional().catch(undefined),
    flags: strList,
    keywords: strList,
    /** MessageNew/MessageAppend from the native driver: the message's CLASSIFY_FIELDS header lines
     * as stored, base64 (8-bit bytes intact). An odd value is not used: the bridge fetches them. */
    headers_base64: z
        .string()
        .max(Math.ceil(CLASSIFY_FIELDS_MAX / 3) * 4)
        .regex(/^[A-Za-z0-9+/]*={0,2}$/)
        .optional()
        .catch(undefined)
});
export type DovecotEvent = z.infer<typeof DovecotEventSchema>;

/** Events in one batch at most (a STORE over a whole mailbox is one batch). */
export const BATCH_EVENTS_MAX = 100_000;

export const BatchSchema = z.object({
    /** Unique per Lua state (random bytes): never shared by two sessions, processes or restarts; with seq it reveals lost batches. */
    proc: z.string().min(1).max(200),
    seq: z.number().int().positive(),
    /** When the hook sent it (seconds since the epoch): signed, so stale or replayed batches are refused. */
    ts: z.number().optional(),
    user: z.string().min(1).max(1000),
    session: z.string().max(1000).default(''),
    events: z.array(DovecotEventSchema).max(BATCH_EVENTS_MAX)
});
export type Batch = z.infer<typeof BatchSchema>;
