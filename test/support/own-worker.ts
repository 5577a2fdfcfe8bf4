// A worker of a test file's own, on its own task queue (the shared stack's Temporal and workflow
// bundle, the file's own activity dependencies), with a client to start workflows on it.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createWorker, type CreateWorkerOptions } from '../../src/worker.js';
import { stack } from './stack.js';

export interface OwnWorker {
  client: Client;
  /** Shut the worker down (in-flight work ends first) and close both connections. */
  stop(): Promise<void>;
}

export async function startOwnWorker(taskQueue: string, activityDeps: CreateWorkerOptions['activityDeps']): Promise<OwnWorker> {
  const workerConnection = await NativeConnection.connect({ address: stack().temporalAddress });
  const worker = await createWorker({ connection: workerConnection, namespace: stack().namespace, taskQueue, workflowBundle: { codePath: stack().bundlePath }, activityDeps });
  const running = worker.run();
  const connection = await Connection.connect({ address: stack().temporalAddress });
  return {
    client: new Client({ connection, namespace: stack().namespace }),
    async stop() {
      worker.shutdown();
      await running.catch(() => undefined);
      await workerConnection.close();
      await connection.close();
    },
  };
}
