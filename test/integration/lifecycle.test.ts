// No consumer waits forever: when the producer is terminated or canceled, every consumer ends,
// and the dbt process is gone; a terminated build's records do not stay `running`.
import type { Client } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild } from '../../src/client.js';
import { progressQuery } from '../../src/contracts/messages.js';
import { nodeWorkflowId, SearchAttributes } from '../../src/contracts/names.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { buildExecution, descendantsOf } from '../../src/store/queries.js';
import { connectTestClient, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';

let client: Client;
let close: () => Promise<void>;
let pool: Pool;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
  pool = createPool(stack().databaseUrl);
});
afterAll(async () => {
  await pool?.end();
  await close();
});

/** dbt processes of one build (their command line carries the build's private target path). */
function dbtProcessesOf(buildId: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', `target/watcher/${buildId}/`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function startSlowBuild(): Promise<{ buildId: string; ids: string[] }> {
  const buildId = uniqueName('slow').replace(/_/g, '-');
  const { handle } = await startBuild(
    client,
    { projectDir: SHOP_PROJECT, buildId, nodeRetries: 0, vars: { schema: uniqueName('t'), shop_sleep_seconds: 60 } },
    { taskQueue: stack().taskQueue },
  );
  // Wait (bounded) until dbt is building: consumers exist and some have results.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const progress = await handle.query(progressQuery).catch(() => undefined);
    if (progress?.phase === 'building' && (progress.counts.success ?? 0) > 0) return { buildId, ids: progress.nodes.map((n) => n.uniqueId) };
    if (Date.now() > deadline) throw new Error('the slow build never got going');
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function closeStatusesOf(buildId: string, ids: string[]) {
  return Promise.all(
    ids.map(async (id) => {
      const handle = client.workflow.getHandle(nodeWorkflowId(buildId, id));
      await handle.result().catch(() => undefined);
      const d = await handle.describe();
      return { id, status: d.status.name, dbtStatus: d.typedSearchAttributes.get(SearchAttributes.status) };
    }),
  );
}

describe('consumers never wait forever', () => {
  it('end canceled when the producer is terminated, and dbt is stopped', async () => {
    const { buildId, ids } = await startSlowBuild();
    expect(dbtProcessesOf(buildId).length).toBeGreaterThan(0);
    await client.workflow.getHandle(`watcher/${buildId}`).terminate('test: producer terminated');
    const ends = await closeStatusesOf(buildId, ids);
    const waiting = ends.filter((e) => e.status === 'CANCELLED');
    // Nodes that finished before the termination keep their result; every other one is canceled.
    expect(waiting.length).toBeGreaterThan(0);
    for (const e of ends) expect(['COMPLETED', 'CANCELLED'], e.id).toContain(e.status);
    for (const e of waiting) expect(e.dbtStatus, e.id).toBe('canceled');
    // The build activity learns on its next heartbeat that its workflow is gone and stops dbt.
    await expect.poll(() => dbtProcessesOf(buildId).length, { timeout: 30_000, interval: 500 }).toBe(0);
    // Its target guard saw it close without releasing: the build's records end `canceled`, at its close.
    const closedAt = (await client.workflow.getHandle(`watcher/${buildId}`).describe()).closeTime!;
    await expect.poll(async () => (await buildExecution(pool, buildId))?.status, { timeout: 30_000, interval: 500 }).toBe('canceled');
    const root = (await buildExecution(pool, buildId))!;
    expect(root.end_date?.getTime()).toBe(closedAt.getTime());
    expect(root.execution_metadata).toMatchObject({ ended_by: 'reconciliation', reason: 'workflow terminated' });
    const under = await descendantsOf(pool, root.id);
    expect(under.filter((e) => e.status === 'running')).toEqual([]);
  });

  it('end canceled when the producer is canceled, and dbt is stopped', async () => {
    const { buildId, ids } = await startSlowBuild();
    const handle = client.workflow.getHandle(`watcher/${buildId}`);
    const canceledAt = Date.now();
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(dbtProcessesOf(buildId)).toEqual([]); // the producer waited for dbt to be stopped
    expect(Date.now() - canceledAt).toBeLessThan(30_000);
    const ends = await closeStatusesOf(buildId, ids);
    expect(ends.filter((e) => e.status === 'CANCELLED').length).toBeGreaterThan(0);
    for (const e of ends) expect(['COMPLETED', 'CANCELLED'], e.id).toContain(e.status);
  });
});
