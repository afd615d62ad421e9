// The embedded resolver (serve's default): endpoints registered in this process, keyed by the
// Dovecot username. Other processes cannot reach it; they use the bus (`listen`) instead. `serve`
// registers nothing, so with it the pusher has no one to push to: register() is the seam for a
// program that embeds the bridge (src/index.ts) and for the pusher's tests.
import { urlsOf, type Endpoint, type Resolver } from './resolver.js';

export class MemoryResolver implements Resolver {
    private readonly byUser = new Map<string, Endpoint[]>();

    register(user: string, endpoint: Endpoint): void {
        const list = (this.byUser.get(user) ?? []).filter(e => e.url !== endpoint.url);
        this.byUser.set(user, [...list, endpoint]);
    }

    async endpoints(user: string): Promise<Endpoint[]> {
        return [...(this.byUser.get(user) ?? [])];
    }

    async lookup(user: string): Promise<string[]> {
        return urlsOf(await this.endpoints(user));
    }

    async close(): Promise<void> {
        this.byUser.clear();
    }
}
