// A worker of one test file's own, on its own task queue, running the shared workflow bundle with
// the activities Watcher ships (deps of the file's choosing: a store, a notifier), and a client.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createWorker, type CreateWorkerOptions } from '../../src/worker.js';
import { stack } from './stack.js';

export interface OwnWorker {
  client: Client;
  /** Shuts the worker down and closes both connections. */
  stop: () => Promise<void>;
}

export async function startOwnWorker(taskQueue: string, activityDeps: CreateWorkerOptions['activityDeps']): Promise<OwnWorker> {
  const workerConnection = await NativeConnection.connect({ address: stack().temporalAddress });
  const worker = await createWorker({ connection: workerConnection, namespace: stack().namespace, taskQueue, workflowBundle: { codePath: stack().bundlePath }, activityDeps });
  const running = worker.run();
  const connection = await Connection.connect({ address: stack().temporalAddress });
  return {
    client: new Client({ connection, namespace: stack().namespace }),
    stop: async () => {
      worker.shutdown();
      await running.catch(() => undefined);
      await workerConnection.close();
      await connection.close();
    },
  };
}
