// Site-wide webhooks in serve's configuration: `--webhook <url>` (repeatable; all share
// --webhook-types and --webhook-secret-file) or, in the --config file, a list of
// {url, types?, secretFile? | secretEnv?, id?}. A secret never comes from a flag or the file itself.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EVENT_TYPES } from '../events/event.js';
import type { WebhookTarget } from './endpoint.js';

const Entry = z.union([
    z.url(),
    z
        .object({
            url: z.url(),
            types: z.array(z.enum(EVENT_TYPES)).nonempty().optional(),
            secretFile: z.string().min(1).optional(),
            secretEnv: z.string().min(1).optional(),
            id: z.string().min(1).optional(),
            format: z.enum(['json', 'ox']).optional()
        })
        .strict()
]);

export const WebhookConfigShape = {
    webhook: z.union([Entry, z.array(Entry)]).optional(),
    webhookTypes: z.union([z.string(), z.array(z.enum(EVENT_TYPES))]).optional(),
    webhookSecretFile: z.string().min(1).optional(),
    webhookAllowPrivate: z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform(v => ['true', '1', 'yes'].includes(v))]).default(false)
};

type WebhookConfig = z.infer<z.ZodObject<typeof WebhookConfigShape>>;

/** The site-wide targets with their secrets read; throws (naming the option) when a secret is missing. */
export function siteWebhooks(config: WebhookConfig, env: NodeJS.ProcessEnv = process.env): WebhookTarget[] {
    const entries = config.webhook === undefined ? [] : Array.isArray(config.webhook) ? config.webhook : [config.webhook];
    const flagTypes = typeof config.webhookTypes === 'string' ? (config.webhookTypes.split(',').map(t => t.trim()) as WebhookTarget['types']) : config.webhookTypes;
    return entries.map(e => {
        const entry =
            typeof e === 'string'
                ? { url: e, types: flagTypes, secretFile: config.webhookSecretFile }
                : { ...e, secretFile: e.secretFile ?? (e.secretEnv ? undefined : config.webhookSecretFile) };
        const secret = entry.secretFile ? readFileSync(entry.secretFile, 'utf8').trim() : 'secretEnv' in entry && entry.secretEnv ? env[entry.secretEnv] : undefined;
        if (!secret) throw new Error(`--webhook ${new URL(entry.url).origin}: no secret (give --webhook-secret-file, or secretFile/secretEnv in --config)`);
        const id = ('id' in entry && entry.id) || `site-${createHash('sha256').update(entry.url).digest('hex').slice(0, 16)}`;
        return { id, url: entry.url, secret, types: entry.types?.length ? entry.types : undefined, format: 'format' in entry ? entry.format : undefined };
    });
}
