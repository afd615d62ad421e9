// The IMAP master login of --imap works for a real user.
import { message, misconfigured, ok, skip, unavailable, type Check } from './check.js';
import { ImapLoginRefused, imapSession } from './imap-login.js';

export const imapMaster: Check = {
    name: 'imap-master',
    async run({ config, user, timeoutMs }) {
        if (!config.imap) return skip('no --imap');
        if (!user) return skip('no user to log in as: give --user <dovecot user> (or --voicemail-conf with imapuser=)');
        const t = config.imap;
        try {
            await imapSession(config, user, timeoutMs, async () => undefined);
            return ok(`${user}${config.imapMasterSeparator}${t.master} logged in at ${t.host}:${t.port}`);
        } catch (err) {
            if (err instanceof ImapLoginRefused) {
                return misconfigured(
                    `Dovecot refused master user ${t.master} for ${user} (${err.message}): wrong master password, unknown master user or unknown user`,
                    `compare --imap's user:password (percent-encoded) with Dovecot's master-users file (doveadm pw -s SHA512-CRYPT), and --imap-master-separator with auth_master_user_separator`
                );
            }
            return unavailable(`${t.host}:${t.port}: ${message(err)}`, 'start Dovecot with dovecot-imapd (protocols = imap) or correct --imap');
        }
    }
};
