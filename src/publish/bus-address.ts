// Where the PUB bus lives. Default: a unix socket in the state directory, `ipc://<dir>/bus.sock`,
// mode 0660 — private to the host's vmbridge user and group (the bus is an unauthenticated
// backplane). `--publish tcp://…` exposes it to whoever can reach that address, only when asked.
import path from 'node:path';
import { DEFAULTS } from '../config.js';

export const BUS_SOCKET = 'bus.sock';
/** The replay endpoint's generated token, next to the bus socket (publish/front.ts). */
export const REPLAY_TOKEN_FILE = 'replay.token';

export function defaultBus(stateDir = DEFAULTS.stateDir): string {
    return `ipc://${path.resolve(stateDir, BUS_SOCKET)}`;
}

export function busUrl(config: { publish?: string; stateDir: string }): string {
    return config.publish ?? defaultBus(config.stateDir);
}

/** The socket file behind an ipc:// url, else undefined. */
export function ipcPath(url: string): string | undefined {
    return url.startsWith('ipc://') ? url.slice('ipc://'.length) : undefined;
}
