// npm run schema: writes schema/event.v1.json from the compiled zod schema (run after tsc).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventJsonSchema } from '../dist/events/json-schema.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'schema', 'event.v1.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(eventJsonSchema(), null, 2) + '\n');
