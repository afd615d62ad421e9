// The header fields the native driver sends instead of the bridge fetching the header over IMAP:
// the driver's list is this list, and classify() of those fields alone equals classify() of the
// whole header block for every message of the fixture corpus (the body's parts aside: neither
// the driver nor a header FETCH has them).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/classify/classify.js';
import { CLASSIFY_FIELDS } from '../../src/classify/fields.js';
import { loadCorpus } from './tap-helpers.js';

const DRIVER = path.resolve(__dirname, '../../dovecot/native/push-notification-driver-vmbridge.c');

/** The header block of a message: up to and including the empty line. */
function headerOf(eml: Buffer): Buffer {
    const m = /\r?\n\r?\n/.exec(eml.toString('latin1'));
    return m ? eml.subarray(0, m.index + m[0].length) : eml;
}

/** What the driver's scan (vmbridge_fields_read) keeps for these names: the fields' lines as stored, continuations included. */
function selectFields(header: Buffer, names: readonly string[]): Buffer {
    const wanted = new Set(names.map(n => n.toLowerCase()));
    const lines = header.toString('latin1').split(/(?<=\n)/);
    let keep = false;
    const out: string[] = [];
    for (const line of lines) {
        if (!/^[ \t]/.test(line))
            keep = wanted.has(
                line
                    .slice(0, Math.max(0, line.indexOf(':')))
                    .trim()
                    .toLowerCase()
            );
        if (keep) out.push(line);
    }
    return Buffer.from(out.join(''), 'latin1');
}

describe('classification header fields', () => {
    it('are the native driver’s classify_fields, in the same order', () => {
        const src = readFileSync(DRIVER, 'utf8');
        const list = /classify_fields\[\] = \{([^}]*)\}/.exec(src)?.[1];
        expect(list).toBeDefined();
        expect([...list!.matchAll(/"([^"]+)"/g)].map(m => m[1])).toEqual([...CLASSIFY_FIELDS]);
    });

    it.each(loadCorpus().map(f => [f.name, f.eml] as const))('%s: classified alike from the fields alone', (_name, eml) => {
        const header = headerOf(eml);
        const selected = selectFields(header, CLASSIFY_FIELDS);
        expect(selected.length).toBeLessThan(header.length + 1);
        expect(classify(selected)).toEqual(classify(header));
    });

    it('a field outside the list changes nothing, a field on it does (the comparison can fail)', () => {
        const header = Buffer.from('From: a@example.org\r\nX-Asterisk-VM-Extension: 1000\r\nX-Asterisk-VM-Context: default\r\n\r\n');
        expect(classify(selectFields(header, CLASSIFY_FIELDS))).toEqual(classify(header));
        expect(classify(selectFields(header, ['From']))).not.toEqual(classify(header));
    });
});
