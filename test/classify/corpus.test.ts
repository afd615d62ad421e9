// The fixture corpus: every message, split into random chunk sizes, goes through HeaderTap and
// classify; the bytes that come out must equal the file and the classification must equal the
// JSON beside it exactly (absent fields absent).
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/classify/classify.js';
import { VoicemailSchema } from '../../src/events/event.js';
import { loadCorpus, randomChunks, rng, tapChunks } from './tap-helpers.js';

const corpus = loadCorpus();

describe('classification corpus', () => {
    it('has at least 30 messages covering every class and format', () => {
        expect(corpus.length).toBeGreaterThanOrEqual(30);
        const expected = corpus.map(f => f.expected as { class: string; voicemail?: { format: string } });
        expect(new Set(expected.map(e => e.class))).toEqual(new Set(['voicemail', 'greeting', 'fax', 'receipt', 'email', 'notification']));
        expect(new Set(expected.flatMap(e => (e.voicemail ? [e.voicemail.format] : [])))).toEqual(
            new Set(['asterisk', 'asterisk-notify', 'freeswitch', 'exchange-um', 'rfc3458', 'vpim'])
        );
    });

    it.each(corpus.map(f => [f.name, f] as const))('%s', async (_name, f) => {
        const rand = rng(f.eml.length);
        for (const max of [1, 7, 64, 1500, f.eml.length + 1]) {
            const r = await tapChunks(randomChunks(f.eml, rand, max));
            expect(r.out.equals(f.eml), `bytes changed with chunks ≤ ${max}`).toBe(true);
            expect(r.bytes).toBe(f.eml.length);
            const c = classify(r.header, r.parts);
            expect(c, `chunks ≤ ${max}`).toEqual(f.expected);
            if (c.voicemail) expect(VoicemailSchema.strict().parse(c.voicemail)).toEqual(c.voicemail);
        }
    });
});
