// Per-class message actions, as Unity Connection's Message Actions page: for each class
// (voicemail, greeting, fax, receipt, email, notification), by default and per user, accept (deliver), relay to an
// alternate address through the smart host, or reject with a 5xx that says why. Messages marked
// private (Sensitivity: Private, or a configured header) are relayed only when relayPrivate allows
// it. With no configuration every message is accepted.
import { z } from 'zod';
import type { Classification } from '../classify/classify.js';
import { parseHeaders, type HeaderMap } from '../classify/headers.js';
import { ConfigError } from '../config.js';
import { SmtpError } from '../deliver/deliverer.js';
import { MESSAGE_CLASSES } from '../events/event.js';
import { reply } from '../smtp/replies.js';

const RelayTo = z.string().regex(/^[^\s<>@]+@[^\s<>@]+$/, 'expected an e-mail address');
const Action = z.union([z.literal('accept'), z.literal('reject'), z.object({ relay: RelayTo }).strict()]);
const PerClass = z.partialRecord(z.enum(MESSAGE_CLASSES), Action);

export const ClassActionsSchema = z
    .object({
        default: PerClass.default({}),
        users: z.record(z.string().min(1), PerClass).default({}),
        /** Unity Connection's "Allow Relaying of Private Messages" (secure by default: off here). */
        relayPrivate: z.boolean().default(false)
    })
    .strict();
export type ClassActions = z.infer<typeof ClassActionsSchema>;

export type Decision = { action: 'accept' } | { action: 'relay'; to: string } | { action: 'reject'; error: SmtpError };

/** A private marker: a header name, optionally with the value that marks (case-insensitive). */
export interface PrivateHeader {
    name: string;
    value?: string;
}

/** `--private-header "X-Secure"` or `"X-Secure: yes"`. */
export function parsePrivateHeader(spec: string): PrivateHeader {
    const m = /^\s*([!-9;-~]+)\s*(?::\s*(.*?)\s*)?$/.exec(spec);
    if (!m) throw new ConfigError(`invalid option --private-header: expected "Name" or "Name: value", got "${spec}"`);
    return m[2] ? { name: m[1], value: m[2] } : { name: m[1] };
}

/** `--class-actions` takes JSON (a string from flags/env, an object from the config file). */
export function parseClassActions(input: unknown, opts: { smartHost?: string } = {}): ClassActions {
    let raw = input;
    if (typeof input === 'string') {
        try {
            raw = JSON.parse(input);
        } catch (err) {
            throw new ConfigError(`invalid option --class-actions: ${(err as Error).message}`);
        }
    }
    const parsed = ClassActionsSchema.safeParse(raw);
    if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new ConfigError(`invalid option --class-actions: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    const relays = [parsed.data.default, ...Object.values(parsed.data.users)].some(m => Object.values(m).some(a => typeof a === 'object'));
    if (relays && !opts.smartHost) throw new ConfigError('invalid option --class-actions: relay actions need --smart-host');
    return parsed.data;
}

const SENSITIVITY = { name: 'sensitivity', value: 'private' };

export class MessageActions {
    constructor(
        private readonly actions: ClassActions = ClassActionsSchema.parse({}),
        private readonly privateHeader?: PrivateHeader
    ) {}

    /** Pure: the same classification, headers and user always give the same decision. */
    decide(classification: Classification, headers: HeaderMap | Buffer, user: string): Decision {
        const cls = classification.class;
        const action = this.actions.users[user]?.[cls] ?? this.actions.default[cls] ?? 'accept';
        if (action === 'accept') return { action: 'accept' };
        if (action === 'reject') {
            return { action: 'reject', error: reply.classRefused(`${cls} messages are not accepted for this recipient`) };
        }
        const h = Buffer.isBuffer(headers) ? parseHeaders(headers) : headers;
        if (!this.actions.relayPrivate && this.isPrivate(h)) {
            return { action: 'reject', error: reply.classRefused(`${cls} messages for this recipient are relayed, and private messages may not be relayed`) };
        }
        return { action: 'relay', to: action.relay };
    }

    private isPrivate(h: HeaderMap): boolean {
        return [SENSITIVITY, this.privateHeader].some(m => {
            const values = m && h.get(m.name.toLowerCase());
            if (!m || !values) return false;
            const want = m.value?.toLowerCase();
            return want === undefined || values.some(v => v.trim().toLowerCase() === want);
        });
    }
}
