// The embedded dev stack (headless) in a temp dir with a worker in this process (the workflow
// bundle built now) and a client: for benches that measure from inside one process.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/devstack/ports.js';
import { startDevStack, type DevStack } from '../../src/devstack/stack.js';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes.js';
import { bundleWorkflows, createWorker, type CreateWorkerOptions } from '../../src/worker.js';

export interface InProcessBench {
  home: string;
  stack: DevStack;
  /** Environment for dbt: the warehouse profile variables. */
  dbtEnv: NodeJS.ProcessEnv;
  client: Client;
  taskQueue: string;
  /** Worker, connections and stack down, the temp dir removed. */
  stop(): Promise<void>;
}

/** `activityDeps` gets the stack and dbt's environment (a store or notifier may need them). */
export async function startInProcessBench(
  activityDeps: (stack: DevStack, dbtEnv: NodeJS.ProcessEnv) => CreateWorkerOptions['activityDeps'] = (_stack, dbtEnv) => ({ dbtEnv }),
): Promise<InProcessBench> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'watcher-bench-'));
  const stack = await startDevStack({ home, temporalPort: await freePort(), uiPort: await freePort(), postgresPort: await freePort(), headless: true, log: () => undefined });
  const dbtEnv = { ...process.env, ...stack.file.dbtEnv };
  const nativeConnection = await NativeConnection.connect({ address: stack.file.temporalAddress });
  await ensureSearchAttributes(nativeConnection, stack.file.namespace);
  const worker = await createWorker({
    connection: nativeConnection,
    namespace: stack.file.namespace,
    taskQueue: stack.file.taskQueue,
    workflowBundle: await bundleWorkflows(),
    activityDeps: activityDeps(stack, dbtEnv),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: stack.file.temporalAddress });
  return {
    home,
    stack,
    dbtEnv,
    client: new Client({ connection, namespace: stack.file.namespace }),
    taskQueue: stack.file.taskQueue,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
      await stack.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
