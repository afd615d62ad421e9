// The embedded resolver (serve's default): endpoints registered in this process, keyed by the
// Dovecot username. Other processes cannot reach it; they use the bus (`listen`) instead.
import { urlsOf, type Endpoint, type Resolver } from './resolver.js';

export class MemoryResolver implements Resolver {
    private readonly byUser = new Map<string, Endpoint[]>();

    register(user: string, endpoint: Endpoint): void {
        const list = (this.byUser.get(user) ?? []).filter(e => e.url !== endpoint.url);
        this.byUser.set(user, [...list, endpoint]);
    }

    unregister(user: string, url: string): void {
        const list = (this.byUser.get(user) ?? []).filter(e => e.url !== url);
        if (list.length) this.byUser.set(user, list);
        else this.byUser.delete(user);
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
