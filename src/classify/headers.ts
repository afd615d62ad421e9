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

const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g;

/**
 * RFC 2047: whitespace between adjacent encoded words is dropped, and adjacent words in the same
 * charset are decoded together (an encoder may split a multi-byte character across two words).
 * A word in an unknown charset stays as written, with the whitespace around it.
 */
function decodeWords(text: string): string {
    let out = '';
    let last = 0;
    let run: { charset: string; bytes: Buffer[] } | undefined;
    const flush = () => {
        if (run) out += new TextDecoder(run.charset, { fatal: false }).decode(Buffer.concat(run.bytes));
        run = undefined;
    };
    for (const m of text.matchAll(ENCODED_WORD)) {
        const between = text.slice(last, m.index);
        last = m.index + m[0].length;
        const charset = m[1].toLowerCase();
        const bytes =
            m[2].toUpperCase() === 'B'
                ? Buffer.from(m[3], 'base64')
                : Buffer.from(
                      m[3].replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
                      'latin1'
                  );
        let known = true;
        try {
            new TextDecoder(charset);
        } catch {
            known = false;
        }
        const adjacent = run !== undefined && /^\s*$/.test(between);
        if (!known) {
            flush();
            out += between + m[0];
            continue;
        }
        if (adjacent && run?.charset === charset) {
            run.bytes.push(bytes);
            continue;
        }
        flush();
        if (!adjacent) out += between;
        run = { charset, bytes: [bytes] };
    }
    flush();
    return out + text.slice(last);
}

export interface HeaderValue {
    /** The value before the first `;`, trimmed, case as written (e.g. `audio/x-WAV`). */
    value: string;
    /** Parameters by lower-case name; RFC 2231 continuations and charsets decoded. */
    params: Record<string, string>;
}

/** Splits `type/sub; a=1; b="x;y"` leniently: unbalanced quotes and junk never throw. */
export function parseParams(raw: string): HeaderValue {
    const pieces: string[] = [];
    let cur = '';
    let quoted = false;
    for (let i = 0; i < raw.length; i++) {
        const c = raw[i];
        if (c === '"') quoted = !quoted;
        else if (c === '\\' && quoted && i + 1 < raw.length) cur += raw[++i];
        else if (c === ';' && !quoted) {
            pieces.push(cur);
            cur = '';
        } else cur += c;
    }
    pieces.push(cur);
    const segments = new Map<string, { index: number; ext: boolean; text: string }[]>();
    for (const piece of pieces.slice(1)) {
        const eq = piece.indexOf('=');
        if (eq <= 0) continue;
        const m = /^([^*]+)(?:\*(\d+))?(\*)?$/.exec(piece.slice(0, eq).trim().toLowerCase());
        if (!m) continue;
        const list = segments.get(m[1]) ?? [];
        list.push({ index: Number(m[2] ?? 0), ext: !!m[3], text: piece.slice(eq + 1).trim() });
        segments.set(m[1], list);
    }
    const params: Record<string, string> = {};
    for (const [name, list] of segments) params[name] = joinRfc2231(list.sort((a, b) => a.index - b.index));
    return { value: pieces[0].trim(), params };
}

/** RFC 2231: `name*0*=utf-8''Zo%C3%AB` `name*1=.wav` → one string in the first segment's charset. */
function joinRfc2231(list: { ext: boolean; text: string }[]): string {
    if (!list.some(s => s.ext)) return list.map(s => s.text).join('');
    let charset = 'utf-8';
    const bytes: number[] = [];
    list.forEach((s, i) => {
        let text = s.text;
        if (i === 0 && s.ext) {
            const m = /^([^']*)'[^']*'(.*)$/.exec(text);
            if (m) [charset, text] = [m[1] || 'utf-8', m[2]];
        }
        const raw = s.ext
            ? Buffer.from(
                  text.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
                  'latin1'
              )
            : Buffer.from(text, 'utf8');
        bytes.push(...raw);
    });
    try {
        return new TextDecoder(charset.toLowerCase()).decode(Uint8Array.from(bytes));
    } catch {
        return Buffer.from(bytes).toString('latin1');
    }
}

/** The Content-Type of a header map, text/plain when absent (RFC 2045 default). */
export function contentType(h: HeaderMap): HeaderValue {
    return parseParams(first(h, 'content-type') || 'text/plain');
}
