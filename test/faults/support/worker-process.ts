// A Watcher worker in a process of its own, so a fault test can SIGKILL it mid-build.
// Configured by environment: WATCHER_TEST_ADDRESS, WATCHER_TEST_TASK_QUEUE, WATCHER_TEST_BUNDLE,
// DATABASE_URL (optional), WATCHER_TEST_DBT_ENV (JSON), DBT (optional dbt binary).
import { NativeConnection } from '@temporalio/worker';
import { createPool } from '../../../src/store/db.js';
import { installRuntime } from '../../../src/temporal/runtime.js';
import { createWorker } from '../../../src/worker.js';

installRuntime('ERROR', '[worker]');
const env = process.env;
const connection = await NativeConnection.connect({ address: env.WATCHER_TEST_ADDRESS! });
const store = env.DATABASE_URL ? createPool(env.DATABASE_URL) : undefined;
const worker = await createWorker({
  connection,
  namespace: 'default',
  taskQueue: env.WATCHER_TEST_TASK_QUEUE!,
  workflowBundle: { codePath: env.WATCHER_TEST_BUNDLE! },
  activityDeps: {
    dbtEnv: { ...env, ...(JSON.parse(env.WATCHER_TEST_DBT_ENV ?? '{}') as Record<string, string>) },
    ...(env.DBT ? { dbtBin: env.DBT } : {}),
    store,
  },
});
process.once('SIGTERM', () => worker.shutdown());
const running = worker.run();
console.log('worker ready');
await running;
await store?.end();
await connection.close();
