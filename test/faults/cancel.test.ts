// Fault: a build is canceled mid-run, from a TypeScript client, the Temporal CLI and the
// watcher CLI. dbt's process group gets SIGINT (then SIGTERM, SIGKILL) and is gone within the
// heartbeat timeout plus the grace period; consumers end canceled; records say canceled.
import type { Client } from '@temporalio/client';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild } from '../../src/client.js';
import { buildWorkflowId, nodeWorkflowId, SearchAttributes } from '../../src/contracts/names.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { buildExecution, childrenOf } from '../../src/store/queries.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { connectTestClient, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';
import { dbtProcessesOf, progressOf, waitUntil } from './support/faults.js';

const run = promisify(execFile);
/** The build activity's heartbeat timeout plus dbt's grace between SIGINT and SIGTERM. */
const BOUND_MS = 20_000 + 10_000;

let client: Client;
let close: () => Promise<void>;
let pool: Pool;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
  pool = createPool(stack().databaseUrl);
});
afterAll(async () => {
  await pool.end();
  await close();
});

const cancelWith: Record<string, (buildId: string) => Promise<unknown>> = {
  'a TypeScript client': (buildId) => client.workflow.getHandle(buildWorkflowId(buildId)).cancel(),
  'the Temporal CLI': (buildId) =>
    run(stack().temporalCli, ['workflow', 'cancel', '--address', stack().temporalAddress, '--namespace', stack().namespace, '--workflow-id', buildWorkflowId(buildId)]),
  'the watcher CLI': (buildId) =>
    run(process.execPath, [path.join(PROJECT_ROOT, 'bin/watcher.js'), 'cancel', '--no-wait', buildId], {
      env: { ...process.env, TEMPORAL_ADDRESS: stack().temporalAddress, TEMPORAL_NAMESPACE: stack().namespace },
    }),
};

describe.each(Object.keys(cancelWith))('canceling a build from %s', (how) => {
  it('stops dbt within the bound, ends consumers canceled, and records it', async () => {
    const buildId = uniqueName('cancel').replace(/_/g, '-');
    const { handle } = await startBuild(
      client,
      { projectDir: SHOP_PROJECT, buildId, nodeRetries: 0, vars: { schema: uniqueName('t'), shop_sleep_seconds: 120 } },
      { taskQueue: stack().taskQueue },
    );
    await waitUntil('dbt to be building', async () => ((await progressOf(client, buildId))?.counts.success ?? 0) >= 5, 90_000);
    expect(dbtProcessesOf(buildId).length).toBeGreaterThan(0);

    const requested = Date.now();
    await cancelWith[how]!(buildId);
    await waitUntil('dbt to be gone', () => dbtProcessesOf(buildId).length === 0, BOUND_MS, 100);
    const seconds = (Date.now() - requested) / 1000;
    console.log(`cancel from ${how}: dbt gone after ${seconds.toFixed(1)} s`);
    expect(seconds * 1000).toBeLessThanOrEqual(BOUND_MS);

    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const progress = await progressOf(client, buildId);
    const unfinished = progress!.nodes.filter((n) => n.status !== 'success');
    expect(unfinished.length).toBeGreaterThan(0);
    for (const n of unfinished) {
      const d = await client.workflow.getHandle(nodeWorkflowId(buildId, n.uniqueId)).describe();
      expect(d.status.name, n.uniqueId).toBe('CANCELLED');
      expect(d.typedSearchAttributes.get(SearchAttributes.status), n.uniqueId).toBe('canceled');
    }

    const root = (await buildExecution(pool, buildId))!;
    expect(root).toMatchObject({ status: 'canceled', completed_successfully: false });
    const children = new Map((await childrenOf(pool, root.id)).map((c) => [c.pipeline, c.status]));
    expect(children.size).toBe(15);
    for (const n of unfinished) expect(children.get(n.uniqueId), n.uniqueId).toBe('canceled');
  });
});
