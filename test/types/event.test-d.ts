// Type-level contract of the exported event (run by vitest's typecheck: strict tsc over this file).
import { describe, expectTypeOf, test } from 'vitest';
import type { EventOf, MwiEvent, VmEvent } from '../../src/index.js';
import { decodeEvent } from '../../src/index.js';

declare const ev: VmEvent;

describe('VmEvent is a union discriminated by type', () => {
    test('ev.mwi.new compiles after narrowing on type', () => {
        if (ev.type === 'mwi') {
            expectTypeOf(ev).toEqualTypeOf<MwiEvent>();
            expectTypeOf(ev.mwi.new).toEqualTypeOf<number>();
            expectTypeOf(ev.mwi.mailbox).toEqualTypeOf<string>();
        }
    });

    test('without narrowing a type-specific field is not there', () => {
        // @ts-expect-error mwi exists only on mwi events
        void ev.mwi;
        // @ts-expect-error flags exists only on flag events
        void ev.flags;
    });

    test('each type carries its own required fields', () => {
        if (ev.type === 'move') expectTypeOf(ev.from.mailbox).toEqualTypeOf<string>();
        if (ev.type === 'flag') expectTypeOf(ev.flags.set).toEqualTypeOf<string[]>();
        if (ev.type === 'newmail') expectTypeOf(ev.voicemail?.serverName).toEqualTypeOf<string | undefined>();
        if (ev.type === 'reset') expectTypeOf(ev.reason).toEqualTypeOf<EventOf<'reset'>['reason']>();
        expectTypeOf(ev.seq).toEqualTypeOf<number | undefined>();
    });

    test('decodeEvent hands back the same union', () => {
        expectTypeOf(decodeEvent).returns.toEqualTypeOf<VmEvent | null>();
    });
});
