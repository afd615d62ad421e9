// PUB bus frames: `<user>\t<type>\t<json>` so a SUB socket filters by prefix (`alice\t`,
// `alice\tflag\t`) inside nanomsg instead of in JavaScript.
import type { VmEvent } from '../events/event.js';
import { decodeEvent, encodeSequenced } from './json.js';

export function encodeFrame(ev: VmEvent): Buffer {
    return Buffer.from(frameText(ev));
}

export function frameText(ev: VmEvent): string {
    return `${clean(ev.user)}\t${ev.type}\t${encodeSequenced(ev)}`;
}

export function decodeFrame(frame: Buffer | string): VmEvent | null {
    const text = typeof frame === 'string' ? frame : frame.toString('utf8');
    const a = text.indexOf('\t');
    const b = a < 0 ? -1 : text.indexOf('\t', a + 1);
    return b < 0 ? null : decodeEvent(text.slice(b + 1));
}

/** The subscription prefixes for a user and optional types (one prefix per type). */
export function framePrefixes(user?: string, types?: string[]): string[] {
    if (!user) return types && types.length ? [] : [''];
    const base = `${clean(user)}\t`;
    return types && types.length ? types.map(t => `${base}${t}\t`) : [base];
}

function clean(s: string): string {
    return s.replace(/[\t\r\n]/g, ' ');
}
