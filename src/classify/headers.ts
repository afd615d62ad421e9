// Lenient header parsing for classification: unfolds, keeps repeated fields, tolerates LF or
// CRLF, 8-bit bytes and junk lines. Never throws; never touches the bytes that are delivered.
export type HeaderMap = Map<string, string[]>;

export function parseHeaders(block: Buffer): HeaderMap {
    const map: HeaderMap = new Map();
    // latin1 keeps every byte as one char; values are re-decoded as UTF-8 where valid.
    const lines = block.toString('latin1').split(/\r?\n/);
    let name = '';
    let value = '';
    const flush = () => {
        if (!name) return;
        const list = map.get(name) ?? [];
        list.push(decodeValue(value.trim()));
        map.set(name, list);
        name = '';
    };
    for (const line of lines) {
        if (/^[ \t]/.test(line) && name) {
            value += ' ' + line.trim();
            continue;
        }
        flush();
        const colon = line.indexOf(':');
        if (colon > 0 && /^[!-9;-~]+$/.test(line.slice(0, colon).trimEnd())) {
            name = line.slice(0, colon).trimEnd().toLowerCase();
            value = line.slice(colon + 1);
        }
    }
    flush();
    return map;
}

export function first(h: HeaderMap, name: string): string | undefined {
    return h.get(name.toLowerCase())?.[0];
}

/** Raw 8-bit bytes: UTF-8 when valid, otherwise kept as latin1. RFC 2047 words are decoded. */
function decodeValue(latin1: string): string {
    let text = latin1;
    if (/[\x80-\xff]/.test(latin1)) {
        const bytes = Buffer.from(latin1, 'latin1');
        const utf8 = bytes.toString('utf8');
        if (!utf8.includes('\ufffd')) text = utf8;
    }
    return text.includes('=?') ? decodeWords(text) : text;
}

function decodeWords(text: string): string {
    return text
        .replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?)/g, '$1')
        .replace(/=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g, (whole, charset: string, enc: string, data: string) => {
            try {
                const bytes = enc.toUpperCase() === 'B'
                    ? Buffer.from(data, 'base64')
                    : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
                return new TextDecoder(charset.toLowerCase(), { fatal: false }).decode(bytes);
            } catch {
                return whole;
            }
        });
}
