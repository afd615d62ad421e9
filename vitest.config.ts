import { defineConfig } from 'vitest/config';

// Integration tests start real Dovecot/memcached/Postfix processes: generous timeouts, and few
// files at once on a 2-core machine.
export default defineConfig({
    test: {
        include: ['test/**/*.test.ts'],
        // Every process a test starts is stopped, also when the test fails (test/setup/).
        globalSetup: ['test/setup/global.ts'],
        setupFiles: ['test/setup/stop-children.ts'],
        testTimeout: 60_000,
        hookTimeout: 60_000,
        pool: 'forks',
        maxWorkers: 2,
        reporters: ['default'],
        // Type-level tests (*.test-d.ts): strict tsc over them as part of the run.
        typecheck: { enabled: true, include: ['test/types/*.test-d.ts'], tsconfig: './test/types/tsconfig.json' }
    }
});
