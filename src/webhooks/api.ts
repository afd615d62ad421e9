// The per-user webhook API the client listener's route and the CLI call. The store is set once
// by serve (or the CLI) when the state directory is open.
import type { WebhookInfo, WebhookStore } from './store.js';

let store: WebhookStore | undefined;

export function useWebhookStore(s: WebhookStore | undefined): void {
    store = s;
}

function current(): WebhookStore {
    if (!store) throw new Error('webhooks need the state directory store (serve with the embedded state)');
    return store;
}

/** Creates a webhook for the user; the returned secret is shown this once. Throws WebhookSpecError. */
export function createWebhook(user: string, spec: unknown): WebhookInfo & { secret: string } {
    return current().create(user, spec);
}

export function listWebhooks(user: string): WebhookInfo[] {
    return current().list(user);
}

export function deleteWebhook(user: string, id: string): boolean {
    return current().delete(user, id);
}
