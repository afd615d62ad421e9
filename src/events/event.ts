// The one event model (JSON wire v1). Every stage produces or consumes these; zod guards the
// boundaries where events come from outside (subscribers decoding frames, the journal).
import { z } from 'zod';

export const EVENT_TYPES = ['newmail', 'flag', 'move', 'delete', 'mwi', 'reset'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const MESSAGE_CLASSES = ['voicemail', 'greeting', 'fax', 'receipt', 'email', 'notification'] as const;
export type MessageClass = (typeof MESSAGE_CLASSES)[number];

export const AudioSchema = z.object({
    name: z.string().optional(),
    contentType: z.string(),
    size: z.number().int().nonnegative().optional()
});

export const VoicemailSchema = z.object({
    mailbox: z.string().optional(),
    context: z.string().optional(),
    callerIdNum: z.string().optional(),
    callerIdName: z.string().optional(),
    durationSec: z.number().nonnegative().optional(),
    urgent: z.boolean().optional(),
    msgNum: z.number().int().optional(),
    origTime: z.number().int().optional(),
    messageType: z.string().optional(),
    serverName: z.string().optional(),
    vmMessageId: z.string().optional(),
    format: z.string().optional(),
    audio: AudioSchema.optional()
});
export type VoicemailMeta = z.infer<typeof VoicemailSchema>;

const MoveEndSchema = z.object({ mailbox: z.string(), uid: z.number().int().optional() });

export const EventSchema = z.object({
    v: z.literal(1),
    id: z.string().min(1),
    seq: z.number().int().nonnegative().optional(),
    type: z.enum(EVENT_TYPES),
    user: z.string().min(1),
    ts: z.string(),
    mailbox: z.string().optional(),
    uid: z.number().int().optional(),
    uidValidity: z.number().int().optional(),
    messageId: z.string().optional(),
    class: z.enum(MESSAGE_CLASSES).optional(),
    voicemail: VoicemailSchema.optional(),
    flags: z.object({ set: z.array(z.string()), cleared: z.array(z.string()) }).optional(),
    from: MoveEndSchema.optional(),
    to: MoveEndSchema.optional(),
    mwi: z
        .object({
            mailbox: z.string(),
            new: z.number().int().nonnegative(),
            old: z.number().int().nonnegative(),
            urgent: z.number().int().nonnegative()
        })
        .optional(),
    reason: z.string().optional()
});
export type VmEvent = z.infer<typeof EventSchema>;

/** Drops undefined fields so "fields that do not apply are absent" holds on the wire. */
export function makeEvent(fields: Omit<VmEvent, 'v' | 'ts'> & { ts?: string }): VmEvent {
    const ev: Record<string, unknown> = { v: 1, ts: fields.ts ?? new Date().toISOString() };
    for (const [k, val] of Object.entries(fields)) if (val !== undefined) ev[k] = val;
    return ev as VmEvent;
}
