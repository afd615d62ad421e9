// Dovecot's auth_username_format for the RCPT address: %u (whole), %n (local part), %d (domain),
// with the L/U modifiers (lower/upper case), e.g. the default %Lu. Administrators set both alike,
// so the user in events is the user Dovecot stores the mail for.
export function formatUsername(format: string, address: string): string {
    const at = address.lastIndexOf('@');
    const parts: Record<string, string> = {
        u: address,
        n: at < 0 ? address : address.slice(0, at),
        d: at < 0 ? '' : address.slice(at + 1)
    };
    return format.replace(/%([LU]?)([und%])/g, (_m, mod: string, key: string) => {
        if (key === '%') return '%';
        const v = parts[key];
        return mod === 'L' ? v.toLowerCase() : mod === 'U' ? v.toUpperCase() : v;
    });
}
