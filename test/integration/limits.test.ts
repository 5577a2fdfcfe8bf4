// Node groups keep every workflow of a build under Temporal's per-workflow limits. Proven at
// small scale: a dev server whose limits are set low (dynamic config) runs a build of the
// example project sharded into groups of 5, while one group of 15 hits the limit.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import { buildWorkflowId, nodeGroupWorkflowId } from '../../src/contracts/names.js';
import { freePort } from '../../src/devstack/ports.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/devstack/temporal-server.js';
import { VENV_DIR } from '../../src/toolchain.js';
import { createWorker } from '../../src/worker.js';
import { TARGET_DRAIN_SECONDS } from '../../src/contracts/timeouts.js';
import { SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';
import { dbtProcessesOf, waitUntil } from '../faults/support/faults.js';

const LIMITS = {
  'limit.numPendingChildExecutions.error': 6,
  'history.maximumSignalsPerExecution': 60,
  'limit.historyCount.error': 600,
  'limit.blobSize.error': 256 * 1024,
};

let home: string;
let server: TemporalDevServer;
let worker: Worker;
let running: Promise<void>;
let workerConnection: NativeConnection;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'watcher-limits-'));
  server = await startTemporalDevServer({
    cli: stack().temporalCli,
    port: await freePort(),
    headless: true,
    namespace: 'default',
    dynamicConfig: LIMITS,
    logFile: path.join(home, 'temporal.log'),
    pidFile: path.join(home, 'temporal.pid'),
    python: path.join(VENV_DIR, 'bin', 'python3'),
  });
  workerConnection = await NativeConnection.connect({ address: server.address });
  worker = await createWorker({
    connection: workerConnection,
    namespace: 'default',
    taskQueue: 'limits',
    workflowBundle: { codePath: stack().bundlePath },
    activityDeps: { dbtEnv: { ...process.env, ...stack().dbtEnv } },
  });
  running = worker.run();
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
});

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await workerConnection?.close();
  await connection?.close();
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
});

async function children(workflowId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length;
}

describe('Temporal limits set low (at most 6 pending children per workflow)', () => {
  it('a build sharded into groups of 5 completes, every workflow under the limits', async () => {
    const buildId = uniqueName('limits').replace(/_/g, '-');
    const { handle } = await startBuild(client, { projectDir: SHOP_PROJECT, buildId, nodeRetries: 0, groupSize: 5, vars: { schema: uniqueName('t') } }, { taskQueue: 'limits' });
    const result = await waitForBuild(handle);
    expect(result.error).toBeUndefined();
    expect(result.progress!.counts).toEqual({ success: 15 });
    // The build: 3 groups, its target lock and, once it ended, its post-build alerts; each group: 5 consumers.
    expect(await children(buildWorkflowId(buildId))).toBe(5);
    for (const g of [1, 2, 3]) expect(await children(nodeGroupWorkflowId(buildId, g))).toBe(5);
    const d = await handle.describe();
    expect(d.historyLength).toBeLessThan(LIMITS['limit.historyCount.error']);
  });

  it('one group of 15 consumers hits the limit (the control: the limit is real)', async () => {
    const buildId = uniqueName('nolimits').replace(/_/g, '-');
    const { handle } = await startBuild(client, { projectDir: SHOP_PROJECT, buildId, nodeRetries: 0, groupSize: 15, vars: { schema: uniqueName('t') } }, { taskQueue: 'limits' });
    const group = client.workflow.getHandle(nodeGroupWorkflowId(buildId, 1));
    // The server refuses the group's workflow task that starts more than 6 children.
    const deadline = Date.now() + 60_000;
    let refused = false;
    while (!refused && Date.now() < deadline) {
      const history = await group.fetchHistory().catch(() => undefined);
      refused = (history?.events ?? []).some((e) => e.workflowTaskFailedEventAttributes);
      if (!refused) await new Promise((r) => setTimeout(r, 500));
    }
    expect(refused).toBe(true);
    expect(await children(nodeGroupWorkflowId(buildId, 1))).toBeLessThanOrEqual(6);
    await handle.terminate('test: the control build cannot finish');
    // Its dbt stops within the product's bound: the build activity's next heartbeat, then dbt's grace.
    await waitUntil('the terminated build\'s dbt to stop', () => dbtProcessesOf(buildId).length === 0, TARGET_DRAIN_SECONDS * 1000);
  });
});
