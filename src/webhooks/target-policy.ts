// Which URLs a *user* may point a webhook at (SSRF: the bridge would POST from inside the network).
// Site-wide webhooks are the administrator's choice and are not checked. Per-user ones must be
// https to a public address unless the administrator allows private targets.
import { BlockList, isIP } from 'node:net';

const PRIVATE = new BlockList();
for (const [net, bits] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['192.0.0.0', 24],
    ['198.18.0.0', 15],
    ['224.0.0.0', 3]
] as const)
    PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
    ['::', 127],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8]
] as const)
    PRIVATE.addSubnet(net, bits, 'ipv6');

export function isPrivateAddress(host: string): boolean {
    const h = host.replace(/^\[|\]$/g, '');
    const family = isIP(h);
    if (!family) return /^localhost$|\.localhost$|\.local$|\.internal$/i.test(h);
    return PRIVATE.check(h, family === 4 ? 'ipv4' : 'ipv6');
}

/** Null when a user may use this URL, else why not. */
export function userTargetProblem(url: string, allowPrivate: boolean): string | null {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        return 'not a URL';
    }
    if (allowPrivate) return u.protocol === 'https:' || u.protocol === 'http:' ? null : 'must be http(s)';
    if (u.protocol !== 'https:') return 'must be https';
    if (isPrivateAddress(u.hostname)) return 'private, loopback or link-local addresses are not allowed';
    return null;
}
