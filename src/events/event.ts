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

/** Why a `reset` was sent; new reasons may be added within v1 (docs/events.md). */
export const RESET_REASONS = ['cursor-too-old', 'cursor-ahead', 'journal-gap', 'sequence-unavailable', 'sequence-restarted', 'replay-unavailable', 'client-overflow'] as const;
export type ResetReason = (typeof RESET_REASONS)[number];

// Fields every event carries.
const Base = {
    v: z.literal(1),
    id: z.string().min(1),
    seq: z.number().int().nonnegative().optional(),
    user: z.string().min(1),
    ts: z.string()
};

// Fields of events about one message (newmail, flag, move, delete).
const MessageFields = {
    ...Base,
    mailbox: z.string().optional(),
    uid: z.number().int().optional(),
    uidValidity: z.number().int().optional(),
    messageId: z.string().optional(),
    class: z.enum(MESSAGE_CLASSES).optional(),
    voicemail: VoicemailSchema.optional()
};

export const MwiCountsSchema = z.object({
    mailbox: z.string(),
    new: z.number().int().nonnegative(),
    old: z.number().int().nonnegative(),
    urgent: z.number().int().nonnegative()
});

export const NewmailEventSchema = z.object({ ...MessageFields, type: z.literal('newmail') });
export const FlagEventSchema = z.object({
    ...MessageFields,
    type: z.literal('flag'),
    flags: z.object({ set: z.array(z.string()), cleared: z.array(z.string()) })
});
export const MoveEventSchema = z.object({ ...MessageFields, type: z.literal('move'), from: MoveEndSchema, to: MoveEndSchema });
export const DeleteEventSchema = z.object({ ...MessageFields, type: z.literal('delete') });
export const MwiEventSchema = z.object({ ...Base, type: z.literal('mwi'), mwi: MwiCountsSchema });
export const ResetEventSchema = z.object({ ...Base, type: z.literal('reset'), reason: z.enum(RESET_REASONS) });

/** The v1 event: a union discriminated by `type`, so `ev.type === 'mwi'` narrows to `ev.mwi`. */
export const EventSchema = z.discriminatedUnion('type', [NewmailEventSchema, FlagEventSchema, MoveEventSchema, DeleteEventSchema, MwiEventSchema, ResetEventSchema]);
export type VmEvent = z.infer<typeof EventSchema>;
/** The event of one type, e.g. `EventOf<'mwi'>`. */
export type EventOf<T extends EventType> = Extract<VmEvent, { type: T }>;
export type NewmailEvent = EventOf<'newmail'>;
export type FlagEvent = EventOf<'flag'>;
export type MoveEvent = EventOf<'move'>;
export type DeleteEvent = EventOf<'delete'>;
export type MwiEvent = EventOf<'mwi'>;
export type ResetEvent = EventOf<'reset'>;
/** An event about one message (it may carry mailbox, uid, class, voicemail). */
export type MessageEvent = EventOf<'newmail' | 'flag' | 'move' | 'delete'>;

/** What makeEvent takes: one variant without `v`, `ts` optional (distributes over the union). */
export type EventFields = VmEvent extends infer E ? (E extends VmEvent ? Omit<E, 'v' | 'ts'> & { ts?: string } : never) : never;

/** Drops undefined fields so "fields that do not apply are absent" holds on the wire. */
export function makeEvent<F extends EventFields>(fields: F): EventOf<F['type']> {
    const ev: Record<string, unknown> = { v: 1, ts: fields.ts ?? new Date().toISOString() };
    for (const [k, val] of Object.entries(fields)) if (val !== undefined) ev[k] = val;
    return ev as EventOf<F['type']>;
}
