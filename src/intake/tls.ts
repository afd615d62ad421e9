// STARTTLS certificate and key, read from files so an administrator can renew them and send
// SIGHUP (reload) instead of restarting. A file that cannot be read or does not parse leaves the
// previous pair in place: a renewal mistake must not take the listener down.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

export interface TlsPair {
    key: Buffer;
    cert: Buffer;
}

/** Reads and checks (by building a context) the pair; throws a message naming the bad file. */
export function loadTlsPair(certFile: string, keyFile: string): TlsPair {
    const read = (file: string, what: string) => {
        try {
            return readFileSync(file);
        } catch (err) {
            throw new Error(`--tls-${what} ${file}: ${(err as Error).message}`);
        }
    };
    const pair = { cert: read(certFile, 'cert'), key: read(keyFile, 'key') };
    try {
        createSecureContext(pair);
    } catch (err) {
        throw new Error(`--tls-cert ${certFile} / --tls-key ${keyFile}: ${(err as Error).message}`);
    }
    return pair;
}
