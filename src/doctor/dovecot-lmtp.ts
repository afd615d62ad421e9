// Dovecot's LMTP (the --deliver lmtp target) greets and answers LHLO.
import { connect, message, ok, readUntil, skip, unavailable, type Check } from './check.js';

export const dovecotLmtp: Check = {
    name: 'dovecot-lmtp',
    async run({ config, timeoutMs }) {
        const target = config.deliver;
        if (target.kind !== 'lmtp') return skip(`--deliver ${target.kind}: no LMTP to ask`);
        try {
            const sock = await connect(target.address, timeoutMs);
            try {
                const greeting = await readUntil(sock, t => /^\d{3} .*\r?\n/m.test(t), timeoutMs);
                if (!greeting.startsWith('220')) return unavailable(`greeting ${greeting.trim()}`, "check Dovecot's log (journalctl -u dovecot)");
                sock.write('LHLO vmbridge-doctor\r\n');
                const reply = await readUntil(sock, t => /^\d{3} /m.test(t), timeoutMs);
                sock.write('QUIT\r\n');
                if (!/^250 /m.test(reply))
                    return unavailable(`LHLO answered ${reply.trim().split('\n').pop()}`, "check Dovecot's LMTP service (protocols = lmtp, service lmtp inet_listener)");
                return ok(`${target.text} answers LHLO`);
            } finally {
                sock.destroy();
            }
        } catch (err) {
            return unavailable(`${target.text}: ${message(err)}`, 'install dovecot-lmtpd, add lmtp to protocols and a matching service lmtp listener, or correct --deliver');
        }
    }
};
