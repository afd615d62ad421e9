// The JSON Schema of the v1 event, generated from the same zod schema the bridge validates with,
// so the shipped schema/event.v1.json, the TypeScript types and runtime validation cannot drift.
import { z } from 'zod';
import { EventSchema } from './event.js';

export const EVENT_SCHEMA_ID = 'urn:vmbridge:event:v1';

export function eventJsonSchema(): Record<string, unknown> {
    // input mode: unknown fields are allowed (v1 grows additively; consumers ignore what they do
    // not know). draft-07: the dialect most validators (ajv's default, other languages) read without options.
    const schema = z.toJSONSchema(EventSchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
    return { ...schema, $id: EVENT_SCHEMA_ID, title: 'vmbridge event, wire version 1' };
}
