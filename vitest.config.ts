import { defineConfig } from 'vitest/config';

// Integration tests start real Dovecot/memcached/Postfix processes: generous timeouts, and few
// files at once on a 2-core machine.
export default defineConfig({
    test: {
        include: ['test/**/*.test.ts'],
        testTimeout: 60_000,
        hookTimeout: 60_000,
        pool: 'forks',
        maxWorkers: 2,
        reporters: ['default'],
        // Type-level tests (*.test-d.ts): strict tsc over them as part of the run.
        typecheck: { enabled: true, include: ['test/types/*.test-d.ts'], tsconfig: './test/types/tsconfig.json' }
    }
});
