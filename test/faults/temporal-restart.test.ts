// Fault: the Temporal server (dev server with its SQLite file) restarts mid-build. The worker
// reconnects, signals that failed meanwhile are retried, and the build completes with every
// node accounted for.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import { nodeWorkflowId } from '../../src/contracts/names.js';
import { freePort } from '../../src/devstack/ports.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/devstack/temporal-server.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { buildExecution, childrenOf } from '../../src/store/queries.js';
import { VENV_DIR } from '../../src/toolchain.js';
import { createWorker } from '../../src/worker.js';
import { SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';
import { dbtProcessesOf, progressOf, reportSignalsOf, waitUntil } from './support/faults.js';

let home: string;
let server: TemporalDevServer;
let port: number;
let worker: Worker;
let running: Promise<void>;
let workerConnection: NativeConnection;
let pool: Pool;

const serverOptions = () => ({
  cli: stack().temporalCli,
  port,
  headless: true,
  dbFilename: path.join(home, 'temporal.db'),
  namespace: 'default',
  logFile: path.join(home, 'temporal.log'),
  pidFile: path.join(home, 'temporal.pid'),
  python: path.join(VENV_DIR, 'bin', 'python3'),
});

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'watcher-restart-'));
  port = await freePort();
  server = await startTemporalDevServer(serverOptions());
  workerConnection = await NativeConnection.connect({ address: server.address });
  pool = createPool(stack().databaseUrl);
  worker = await createWorker({
    connection: workerConnection,
    namespace: 'default',
    taskQueue: 'restart',
    workflowBundle: { codePath: stack().bundlePath },
    activityDeps: { dbtEnv: { ...process.env, ...stack().dbtEnv }, store: pool },
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await workerConnection?.close();
  await pool?.end();
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('a Temporal server restart mid-build', () => {
  it('does not lose a node: the build completes and every consumer ends once', async () => {
    let connection = await Connection.connect({ address: server.address });
    let client = new Client({ connection });
    const buildId = uniqueName('restart').replace(/_/g, '-');
    const { handle } = await startBuild(
      client,
      { projectDir: SHOP_PROJECT, buildId, nodeRetries: 0, vars: { schema: uniqueName('t'), shop_sleep_seconds: 12 } },
      { taskQueue: 'restart' },
    );
    await waitUntil('the build to be under way', async () => ((await progressOf(client, buildId))?.counts.success ?? 0) >= 5, 90_000);
    await connection.close();

    // Down while dbt keeps building: reports finished meanwhile must wait for the server.
    await server.stop();
    await new Promise((r) => setTimeout(r, 3_000));
    server = await startTemporalDevServer(serverOptions());

    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection });
    try {
      const result = await waitForBuild(client.workflow.getHandle(handle.workflowId));
      expect(result.error).toBeUndefined();
      expect(result.progress!.counts).toEqual({ success: 15 });
      for (const node of result.progress!.nodes) {
        expect(await reportSignalsOf(client, nodeWorkflowId(buildId, node.uniqueId)), node.uniqueId).toBe(1);
      }
      const root = (await buildExecution(pool, buildId))!;
      expect(root.status).toBe('success');
      expect(await childrenOf(pool, root.id)).toHaveLength(15);
      expect(dbtProcessesOf(buildId)).toEqual([]);
    } finally {
      await connection.close();
    }
  });
});
