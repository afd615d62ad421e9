import { defineConfig } from 'vitest/config';

// `npm run test:unit`: the tier that needs no Debian package, no root and no outside process (no
// Dovecot, memcached, Postfix or `serve` child; loopback sockets inside the test process are fine).
// It runs in seconds. A test file belongs here only when it keeps to that; `npm test` runs
// everything, these included.
export const UNIT_TESTS = [
    'test/bench/p99.test.ts',
    'test/catchup/cursor.test.ts',
    'test/classify/corpus.test.ts',
    'test/config/typed-values.test.ts',
    'test/classify/header-tap.test.ts',
    'test/classify/headers.test.ts',
    'test/deliver/dot-stuff.test.ts',
    'test/deliver/lmtp-connection.test.ts',
    'test/intake/reply-cork.test.ts',
    'test/deploy/asterisk-examples.test.ts',
    'test/events/correlate.test.ts',
    'test/http/cursor.test.ts',
    'test/events/hook-auth.test.ts',
    'test/events/index-sqlite.test.ts',
    'test/events/ingest-stream.test.ts',
    'test/commands/dovecot-native.test.ts',
    'test/mwi/ami.test.ts',
    'test/mwi/boxes.test.ts',
    'test/mwi/converge.test.ts',
    'test/mwi/externnotify.test.ts',
    'test/mwi/resync.test.ts',
    'test/mwi/scheduler.test.ts',
    'test/publish/coalesce.test.ts',
    'test/publish/folders.test.ts',
    'test/publish/journal-sqlite.test.ts',
    'test/publish/sequencer.test.ts',
    'test/publish/sp-push.test.ts',
    'test/reliability/intake-policy.test.ts',
    'test/reliability/long-names.test.ts',
    'test/reliability/policy.test.ts',
    'test/resolve/key.test.ts',
    'test/resolve/ndr.test.ts',
    'test/resolve/servers.test.ts'
];

export default defineConfig({
    test: {
        include: UNIT_TESTS,
        setupFiles: ['test/setup/stop-children.ts'],
        testTimeout: 20_000,
        pool: 'forks',
        maxWorkers: 2,
        reporters: ['default']
    }
});
