// Fault: the worker running the build is SIGKILLed mid-build. Its dbt dies with it; the build
// activity is retried on another worker and resumes from its heartbeat checkpoint: nodes that
// had finished are not run again, the rest are built in dbt's order, and every consumer gets
// exactly one report.
import type { Client } from '@temporalio/client';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import { nodeWorkflowId } from '../../src/contracts/names.js';
import { buildWorkDir } from '../../src/dbt/invocation.js';
import { parseDbtLogLine } from '../../src/dbt/events.js';
import { createPool } from '../../src/store/db.js';
import { buildExecution, childrenOf } from '../../src/store/queries.js';
import { connectTestClient, consumerEnd, readBuildRunResults, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';
import { dbtProcessesOf, progressOf, reportSignalsOf, startWorkerProcess, waitUntil, type WorkerProcess } from './support/faults.js';

let client: Client;
let close: () => Promise<void>;
const workers: WorkerProcess[] = [];
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await close();
});

/** Nodes dbt finished successfully in one invocation, from its JSON log file. */
function succeededIn(logFile: string): Set<string> {
  const done = new Set<string>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const event = parseDbtLogLine(line);
    const info = event?.name === 'NodeFinished' ? (event.data.node_info as { unique_id: string } | undefined) : undefined;
    const status = (event?.data.run_result as { status?: string } | undefined)?.status;
    if (info && (status === 'success' || status === 'pass')) done.add(info.unique_id);
  }
  return done;
}

describe.each([
  { how: 'as dbt flags', env: {} },
  // Past the OS argument limit the selection goes to dbt as a YAML selector in a shadow project.
  { how: 'as a YAML selector (argument limit forced to 1 byte)', env: { WATCHER_MAX_SELECTION_ARGV_BYTES: '1' } },
])('a worker killed mid-build, resumed with the selection $how', ({ env }) => {
  it('resumes on another worker, re-running only the unfinished nodes', async () => {
    const taskQueue = uniqueName('crash');
    const doomed = await startWorkerProcess(taskQueue);
    workers.push(doomed);
    const buildId = uniqueName('crash').replace(/_/g, '-');
    const { handle } = await startBuild(
      client,
      { projectDir: SHOP_PROJECT, buildId, nodeRetries: 0, threads: 4, vars: { schema: uniqueName('t'), shop_sleep_seconds: 20 } },
      { taskQueue },
    );

    // Kill while int_customer_orders sleeps: everything not downstream of it has finished,
    // fct_orders is built but its relationships test (on dim_customers) is not.
    await waitUntil('ten nodes to finish', async () => ((await progressOf(client, buildId))?.counts.success ?? 0) >= 10, 90_000);
    await new Promise((r) => setTimeout(r, 4_000)); // let the checkpoint heartbeat go out
    const before = await progressOf(client, buildId);
    expect(before!.nodes.find((n) => n.uniqueId === 'model.shop.int_customer_orders')!.status).toBe('pending');
    expect(dbtProcessesOf(buildId).length).toBeGreaterThan(0);
    doomed.child.kill('SIGKILL');

    // dbt is tied to its worker: it gets SIGINT and goes.
    await waitUntil('dbt to die with its worker', () => dbtProcessesOf(buildId).length === 0, 20_000);

    workers.push(await startWorkerProcess(taskQueue, env));
    const result = await waitForBuild(handle);
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.progress!.counts).toEqual({ success: 15 });

    // Re-run: only what had not finished. fct_orders (built before the kill) was not rebuilt.
    const firstRun = succeededIn(path.join(buildWorkDir(SHOP_PROJECT, buildId), 'build-1', 'logs', 'dbt.log'));
    const secondRun = readBuildRunResults(buildId, 2).results.map((r) => r.unique_id);
    expect(firstRun.has('model.shop.fct_orders')).toBe(true);
    expect(secondRun).toContain('model.shop.int_customer_orders');
    const viaSelector = existsSync(path.join(buildWorkDir(SHOP_PROJECT, buildId), 'build-2', 'project', 'selectors.yml'));
    expect(viaSelector).toBe('WATCHER_MAX_SELECTION_ARGV_BYTES' in env);
    expect(secondRun.filter((id) => firstRun.has(id))).toEqual([]);
    // Together they cover the whole build: 15 models, seeds and snapshots and 26 tests.
    expect(new Set([...firstRun, ...secondRun]).size).toBe(41);

    // Every consumer got exactly one report.
    for (const node of result.progress!.nodes) {
      const id = nodeWorkflowId(buildId, node.uniqueId);
      expect(await reportSignalsOf(client, id), id).toBe(1);
      expect((await consumerEnd(client, buildId, node.uniqueId)).closeStatus).toBe('COMPLETED');
    }

    // Recorded once each: none lost, none duplicated.
    const pool = createPool(stack().databaseUrl);
    try {
      const root = (await buildExecution(pool, buildId))!;
      const children = await childrenOf(pool, root.id);
      expect(children).toHaveLength(15);
      expect(new Set(children.map((c) => c.pipeline)).size).toBe(15);
    } finally {
      await pool.end();
    }
    expect(dbtProcessesOf(buildId)).toEqual([]);
  });
});
