// A throwaway self-signed certificate (openssl) for STARTTLS tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function makeCert(dir = mkdtempSync(path.join(tmpdir(), 'vmb-tls-')), name = 'cert'): { cert: string; key: string } {
    const cert = path.join(dir, `${name}.pem`);
    const key = path.join(dir, `${name}.key`);
    execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}.test`, '-days', '2', '-keyout', key, '-out', cert],
        { stdio: 'ignore' }
    );
    return { cert, key };
}
