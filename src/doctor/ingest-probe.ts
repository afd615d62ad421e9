// A signed no-op batch reaches the running bridge's ingest and is accepted (HTTP 204): the
// address, the access list and the key all work. The batch is the doctor's probe (ingest.ts):
// zero events for the reserved user PROBE_USER; the bridge counts it and does nothing else (it
// neither marks the hook as heard from nor hands the batch on).
import { randomBytes, createHmac } from 'node:crypto';
import http from 'node:http';
import { PROBE_USER } from '../hook/probe.js';
import { dialable } from '../net/address.js';
import { message, misconfigured, ok, unavailable, type Check } from './check.js';
import { readToken } from './hook-key.js';

export const ingestProbe: Check = {
    name: 'ingest-probe',
    async run({ config, timeoutMs }) {
        const token = readToken(config);
        if (!token) return misconfigured('no ingest token to sign with', 'see the hook-key check');
        const body = JSON.stringify({ proc: `doctor-${randomBytes(8).toString('hex')}`, seq: 1, ts: Date.now() / 1000, user: PROBE_USER, session: '', events: [] });
        const mac = createHmac('sha256', token).update(body).digest('hex');
        const at = dialable(config.ingest);
        const where = 'path' in at ? { socketPath: at.path } : at;
        try {
            const status = await new Promise<number>((resolve, reject) => {
                const req = http.request(
                    {
                        ...where,
                        method: 'POST',
                        path: '/events',
                        timeout: timeoutMs,
                        headers: { 'content-type': 'application/json', 'x-vmbridge-mac': mac, 'content-length': Buffer.byteLength(body) }
                    },
                    res => {
                        res.resume();
                        resolve(res.statusCode ?? 0);
                    }
                );
                req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
                req.on('error', reject);
                req.end(body);
            });
            if (status === 204) return ok(`${config.ingest.text} accepted a signed test batch`);
            if (status === 401)
                return misconfigured(
                    `${config.ingest.text} refused the signature (401): the running bridge uses another token`,
                    'restart the bridge with the same flags as the doctor (same --state-dir / --ingest-token)'
                );
            if (status === 403) return misconfigured(`${config.ingest.text} refused this host (403)`, 'add it to --ingest-access');
            return unavailable(`${config.ingest.text} answered HTTP ${status}`, "check the bridge's log (journalctl -u vmbridge)");
        } catch (err) {
            return unavailable(`${config.ingest.text}: ${message(err)}`, 'start the bridge (systemctl start vmbridge) or correct --ingest');
        }
    }
};
