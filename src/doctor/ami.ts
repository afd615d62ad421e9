// The AMI login of --ami works and the manager user may run VoicemailRefresh. Asterisk has no
// dry run, so the check sends VoicemailRefresh for a context no voicemail.conf holds: the
// permission check (write class `user`) runs exactly as for a real box, app_voicemail then finds
// no box and does nothing.
import { decodeAmi, encodeAmi, type AmiMessage } from '../mwi/ami.js';
import { connect, message, misconfigured, ok, readUntil, skip, unavailable, type Check } from './check.js';

/** A context no real voicemail.conf has (`.invalid` is reserved, RFC 2606). */
export const PROBE_CONTEXT = 'vmbridge-doctor.invalid';

export const ami: Check = {
    name: 'ami',
    async run({ config, timeoutMs }) {
        if (!config.ami) return skip('no --ami');
        const t = config.ami;
        const where = `${t.host}:${t.port}`;
        let sock;
        try {
            sock = await connect({ host: t.host, port: t.port }, timeoutMs);
        } catch (err) {
            return unavailable(`${where}: ${message(err)}`, 'start Asterisk with manager.conf enabled = yes on this port, or correct --ami');
        }
        try {
            let buf = '';
            const next = async (): Promise<AmiMessage> => {
                const text = await readUntil(sock, t => /\r?\n\r?\n/.test(buf + t), timeoutMs);
                const { messages, rest } = decodeAmi(buf + text);
                buf = rest;
                return messages[0];
            };
            const banner = await readUntil(sock, t => t.includes('\n'), timeoutMs);
            if (!banner.startsWith('Asterisk Call Manager')) return unavailable(`${where} greeted ${banner.trim()}`, 'is --ami an Asterisk manager port?');
            buf = banner.slice(banner.indexOf('\n') + 1);
            sock.write(encodeAmi({ Action: 'Login', Username: t.username, Secret: t.secret, Events: 'off', ActionID: 'doctor-login' }));
            const login = await next();
            if (login.Response !== 'Success')
                return misconfigured(
                    `login as ${t.username} refused: ${login.Message ?? login.Response}`,
                    'compare --ami user:secret (percent-encoded) with manager.conf and its permit=/deny= lines'
                );
            sock.write(encodeAmi({ Action: 'VoicemailRefresh', Context: PROBE_CONTEXT, ActionID: 'doctor-refresh' }));
            const refresh = await next();
            sock.write(encodeAmi({ Action: 'Logoff' }));
            if (refresh.Response !== 'Success')
                return misconfigured(
                    `${t.username} may not run VoicemailRefresh: ${refresh.Message ?? refresh.Response}`,
                    `give ${t.username} write = user (manager.conf) and load app_voicemail`
                );
            return ok(`logged in as ${t.username}; VoicemailRefresh permitted`);
        } catch (err) {
            return unavailable(`${where}: ${message(err)}`, 'check Asterisk\'s manager (asterisk -rx "manager show settings")');
        } finally {
            sock.destroy();
        }
    }
};
