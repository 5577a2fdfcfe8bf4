import { defineConfig } from 'vitest/config';

// Two projects: pure-logic unit tests, and integration tests against one shared real stack
// (Temporal dev server, dbt, Postgres) started once in globalSetup. Test files run one at a
// time: they share the stack and the machine has two cores.
export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/faults/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/quiet-runtime.ts', 'test/support/teardown.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          pool: 'forks',
        },
      },
    ],
  },
});
