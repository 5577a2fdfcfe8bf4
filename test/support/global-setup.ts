// One shared real stack for every integration test: embedded Postgres, the Temporal dev server
// (UI on), the workflow bundle built once, and a worker on the test task queue, all in the
// vitest main process. Test files only need a client (see ./stack.ts).
import { NativeConnection, type Worker } from '@temporalio/worker';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from '../../src/devstack/ports.js';
import { startDevStack } from '../../src/devstack/stack.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { installRuntime } from '../../src/temporal/runtime.js';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes.js';
import { ensureToolchain } from '../../src/toolchain.js';
import { bundleWorkflows, createWorker } from '../../src/worker.js';

export interface TestStack {
  home: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  uiUrl: string;
  databaseUrl: string;
  /** Postgres URL of the example warehouse database. */
  warehouseUrl: string;
  /** A URL to the server's `postgres` database, to create throwaway databases. */
  postgresAdminUrl: string;
  dbtEnv: Record<string, string>;
  bundlePath: string;
  temporalCli: string;
  dbtBin: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    watcher: TestStack;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  installRuntime('ERROR', '[stack]');
  const tools = ensureToolchain();
  const home = mkdtempSync(path.join(os.tmpdir(), 'watcher-test-'));
  const started = Date.now();
  const stack = await startDevStack({
    home,
    temporalPort: await freePort(),
    uiPort: await freePort(),
    postgresPort: await freePort(),
    taskQueue: 'watcher-test',
    log: () => undefined,
  });
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let connection: NativeConnection | undefined;
  let store: Pool | undefined;
  try {
    const bundle = await bundleWorkflows();
    const bundlePath = path.join(home, 'workflow-bundle.js');
    writeFileSync(bundlePath, bundle.code);
    connection = await NativeConnection.connect({ address: stack.file.temporalAddress });
    await ensureSearchAttributes(connection, stack.file.namespace);
    const dbtEnv = stack.file.dbtEnv ?? {};
    store = createPool(stack.file.databaseUrl);
    worker = await createWorker({
      connection,
      namespace: stack.file.namespace,
      taskQueue: stack.file.taskQueue,
      workflowBundle: { codePath: bundlePath },
      activityDeps: { dbtEnv: { ...process.env, ...dbtEnv }, dbtBin: tools.dbt, store, uiUrl: stack.file.uiUrl },
    });
    running = worker.run();
    project.provide('watcher', {
      home,
      temporalAddress: stack.file.temporalAddress,
      namespace: stack.file.namespace,
      taskQueue: stack.file.taskQueue,
      uiUrl: stack.file.uiUrl,
      databaseUrl: stack.file.databaseUrl,
      warehouseUrl: stack.postgres.url('shop'),
      postgresAdminUrl: stack.postgres.url('postgres'),
      dbtEnv,
      bundlePath,
      temporalCli: tools.temporal,
      dbtBin: tools.dbt,
    });
    console.error(`[stack] Temporal ${stack.file.temporalAddress}, UI ${stack.file.uiUrl}, Postgres :${stack.postgres.port} up in ${Date.now() - started} ms`);
  } catch (err) {
    await stack.stop();
    throw err;
  }

  return async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await store?.end();
    await stack.stop();
    rmSync(home, { recursive: true, force: true });
    // As root, Postgres's data dir may live outside the home (see postgresDataDir).
    rmSync(stack.postgres.dataDir, { recursive: true, force: true });
  };
}
