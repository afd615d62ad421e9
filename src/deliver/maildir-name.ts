// Maildir naming (https://cr.yp.to/proto/maildir.html, Dovecot's extensions): unique file names
// and user directories that are safe on the filesystem.
import { hostname } from 'node:os';

// '/' and ':' would break the name's structure; the spec escapes them as octal
export const HOST = hostname().replace(/\//g, '\\057').replace(/:/g, '\\072');
let seq = 0;

/** `<secs>.M<usec>P<pid>Q<n>.<host>`: unique per process and delivery. */
export function uniqueName(now = Date.now()): string {
    const usec = (now % 1000) * 1000 + Number(process.hrtime.bigint() % 1000n);
    return `${Math.floor(now / 1000)}.M${usec}P${process.pid}Q${++seq}.${HOST}`;
}

/** The name in new/: Dovecot reads the size from ",S=" without a stat. */
export function newName(unique: string, size: number): string {
    return `${unique},S=${size}`;
}

/**
 * A username as one directory name: no '/', no leading '.', no control bytes. Escaping (%XX,
 * '%' itself included) rather than replacing keeps distinct users in distinct directories.
 */
export function safeUser(user: string): string {
    return user.replace(/[\x00-\x1f\x7f/%]|^\./g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

/** NAME_MAX of common Linux filesystems: a longer user directory fails with ENAMETOOLONG. */
export const NAME_MAX = 255;

/** Why this user's directory cannot exist under root (too long a name or path), or undefined. */
export function unstorableUser(root: string, user: string): string | undefined {
    const dir = safeUser(user);
    if (Buffer.byteLength(dir) > NAME_MAX) return `user name longer than ${NAME_MAX} bytes`;
    // root/<user>/new/<unique>,S=<size>: leave room for the file name under PATH_MAX (4096)
    if (Buffer.byteLength(root) + Buffer.byteLength(dir) + 200 > 4096) return 'mailbox path too long';
    return undefined;
}
