// The one OpenChange NDR codec (facts-openchange.md): the resolver value stored under
// `resolver:<cn>` and the notification payload pushed to each URL. Little-endian, no alignment.
// Decoders never throw: garbage comes back as { ok: false, error } for the caller to log.

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

const VERSION = 1;

/** MAPI notification flags as OpenChange's mapistore uses them. */
export const MAPI = {
    NewMail: 0x0002,
    ObjectCreated: 0x0004,
    ObjectDeleted: 0x0008,
    ObjectModified: 0x0010,
    ObjectMoved: 0x0020,
    ObjectCopied: 0x0040,
    TableModified: 0x0100
} as const;

export interface NotificationPayload {
    flags: number;
    backend: string;
    eml: string;
    folder: string;
    /** One byte, e.g. '.' or '/'. */
    separator: string;
}

/** Resolver value: u8 version, u32 max_count, u32 count, count NUL-terminated URLs. */
export function encodeResolverValue(urls: string[]): Buffer {
    const head = Buffer.alloc(9);
    head.writeUInt8(VERSION, 0);
    head.writeUInt32LE(urls.length, 1);
    head.writeUInt32LE(urls.length, 5);
    return Buffer.concat([head, ...urls.map(cstring)]);
}

export function decodeResolverValue(buf: Buffer): Decoded<string[]> {
    if (buf.length < 9) return fail(`resolver value too short (${buf.length} bytes)`);
    const version = buf.readUInt8(0);
    if (version !== VERSION) return fail(`resolver value version ${version}, expected ${VERSION}`);
    const maxCount = buf.readUInt32LE(1);
    const count = buf.readUInt32LE(5);
    if (count > maxCount) return fail(`resolver value count ${count} exceeds max_count ${maxCount}`);
    // Each URL takes at least its NUL: a count larger than the bytes left is garbage.
    if (count > buf.length - 9) return fail(`resolver value count ${count} exceeds its ${buf.length} bytes`);
    const urls: string[] = [];
    let off = 9;
    for (let i = 0; i < count; i++) {
        const s = readCString(buf, off);
        if (!s) return fail(`resolver value URL ${i} is not NUL-terminated`);
        urls.push(s.text);
        off = s.next;
    }
    return { ok: true, value: urls };
}

/** Notification payload: u8 version, u16 flags, backend\0, eml\0, folder\0, u8 separator. */
export function encodeNotification(p: NotificationPayload): Buffer {
    const head = Buffer.alloc(3);
    head.writeUInt8(VERSION, 0);
    head.writeUInt16LE(p.flags & 0xffff, 1);
    const sep = Buffer.from(p.separator, 'latin1');
    if (sep.length !== 1) throw new RangeError('separator must be one byte');
    return Buffer.concat([head, cstring(p.backend), cstring(p.eml), cstring(p.folder), sep]);
}

export function decodeNotification(buf: Buffer): Decoded<NotificationPayload> {
    if (buf.length < 7) return fail(`payload too short (${buf.length} bytes)`);
    const version = buf.readUInt8(0);
    if (version !== VERSION) return fail(`payload version ${version}, expected ${VERSION}`);
    const flags = buf.readUInt16LE(1);
    const parts: string[] = [];
    let off = 3;
    for (const name of ['backend', 'eml', 'folder']) {
        const s = readCString(buf, off);
        if (!s) return fail(`payload ${name} is not NUL-terminated`);
        parts.push(s.text);
        off = s.next;
    }
    if (buf.length !== off + 1) return fail(`payload has ${buf.length - off} bytes after folder, expected 1 separator`);
    return { ok: true, value: { flags, backend: parts[0], eml: parts[1], folder: parts[2], separator: buf.toString('latin1', off) } };
}

function cstring(s: string): Buffer {
    if (s.includes('\0')) throw new RangeError('NDR string must not contain NUL');
    return Buffer.from(s + '\0', 'utf8');
}

function readCString(buf: Buffer, off: number): { text: string; next: number } | null {
    const end = buf.indexOf(0, off);
    return end < 0 ? null : { text: buf.toString('utf8', off, end), next: end + 1 };
}

function fail<T>(error: string): Decoded<T> {
    return { ok: false, error };
}
