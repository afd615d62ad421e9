// Builds the client listener from the configuration and the bridge's parts (bridge.ts calls this
// only when --http is given).
import { ConfigError, type Config } from '../config.js';
import type { EventFront } from '../publish/front.js';
import type { VmEvent } from '../events/event.js';
import type { Logger } from '../log.js';
import { ImapAuthenticator } from '../intake/auth.js';
import { HTTP_HEARTBEAT_MS } from '../limits.js';
import { HttpAuth } from './auth.js';
import { StreamHub } from './hub.js';
import { ClientServer } from './server.js';
import { TokenStore } from './tokens.js';

export interface ClientListener {
    server: ClientServer;
    tokens: TokenStore;
    hub: StreamHub;
}

export function createClientListener(config: Config, front: EventFront, mwi: (user: string) => VmEvent[], logger: Logger): ClientListener | undefined {
    if (!config.http) return undefined;
    if (!config.httpTlsCert !== !config.httpTlsKey) throw new ConfigError('invalid option --http-tls-cert/--http-tls-key: give both or neither');
    const tokens = new TokenStore(config.stateDir);
    const hub = new StreamHub();
    front.add(hub); // after seq and journal, like the bus
    // Basic is checked against Dovecot's own login on --imap's host (without --imap: tokens only).
    const basic = config.imap ? new ImapAuthenticator({ target: config.imap, cacheTtlMs: config.authCacheTtl }) : undefined;
    const server = new ClientServer({
        listen: config.http,
        tlsCert: config.httpTlsCert,
        tlsKey: config.httpTlsKey,
        auth: new HttpAuth({ tokens, basic, usernameFormat: config.usernameFormat }),
        deps: { hub, replay: (u, s, l) => front.replay(u, s, l), mwi, replayMax: config.replayMax, heartbeatMs: HTTP_HEARTBEAT_MS, logger }
    });
    return { server, tokens, hub };
}
