// Fault: the metadata database is down from the start of a build until every node has ended
// (at least 30 s). The dbt build and its consumers do not wait for it: they all end while it is
// down. Once it is back, every execution is recorded, none twice. Then a monitoring check
// started while it is down waits for it and completes with what it finds, alerting it once.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import { CHECK_WORKFLOW_TYPES, type CheckSummary } from '../../src/contracts/checks.js';
import { isTerminalNodeStatus } from '../../src/contracts/status.js';
import { createNotifier, loadNotifierConfig } from '../../src/monitoring/notifier.js';
import { freePort } from '../../src/devstack/ports.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/devstack/postgres.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { buildExecution, childrenOf } from '../../src/store/queries.js';
import { createWorker } from '../../src/worker.js';
import { readBuildRunResults, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';
import { Receiver } from '../support/receiver.js';
import { progressOf, waitUntil } from './support/faults.js';

/** Postgres stays down at least this long (recording must retry across a long outage)... */
const MIN_OUTAGE_MS = 30_000;
/**
 * ...and until every node ended, which must happen while it is down: a build that waited for
 * its records would never get there. The bound is a build of examples/shop on a loaded 2-core
 * machine (15-20 s on a quiet one), with room to spare.
 */
const NODES_END_WITHIN_MS = 120_000;
let home: string;
let port: number;
let metadata: EmbeddedPostgresHandle;
let pool: Pool;
let worker: Worker;
let running: Promise<void>;
let workerConnection: NativeConnection;
let connection: Connection;
let client: Client;
/** The worker's one alert channel: a JSON webhook on loopback. */
const receiver = new Receiver();
const taskQueue = uniqueName('pgdown');

const startMetadataPostgres = () => startEmbeddedPostgres({ dataDir: path.join(home, 'pg'), port, databases: ['watcher'] });

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'watcher-pgdown-'));
  port = await freePort();
  await receiver.listen();
  metadata = await startMetadataPostgres();
  await migrate(metadata.url('watcher'));
  pool = createPool(metadata.url('watcher'));
  workerConnection = await NativeConnection.connect({ address: stack().temporalAddress });
  worker = await createWorker({
    connection: workerConnection,
    namespace: stack().namespace,
    taskQueue,
    workflowBundle: { codePath: stack().bundlePath },
    activityDeps: {
      dbtEnv: { ...process.env, ...stack().dbtEnv },
      store: pool,
      notifier: createNotifier(loadNotifierConfig({ WATCHER_ALERT_WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/alerts` })),
    },
  });
  running = worker.run();
  connection = await Connection.connect({ address: stack().temporalAddress });
  client = new Client({ connection, namespace: stack().namespace });
});

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await workerConnection?.close();
  await connection?.close();
  await pool?.end();
  await metadata?.stop();
  await receiver.close();
  rmSync(home, { recursive: true, force: true });
});

describe('a metadata database outage of 30 s or more', () => {
  it('neither holds up the build nor loses or duplicates a record', async () => {
    // The worker runs in this process: a blocked event loop would stall its workflow tasks.
    const loop = monitorEventLoopDelay({ resolution: 20 });
    loop.enable();
    await metadata.stop();
    const down = Date.now();
    const buildId = uniqueName('pgdown').replace(/_/g, '-');
    const { handle } = await startBuild(client, { projectDir: SHOP_PROJECT, buildId, nodeRetries: 0, vars: { schema: uniqueName('t') } }, { taskQueue });

    // Every consumer ends while Postgres is still down: recording is off the build's path.
    await waitUntil(
      'every node to end',
      async () => {
        const p = await progressOf(client, buildId);
        return !!p && p.nodes.length === 15 && p.nodes.every((n) => isTerminalNodeStatus(n.status));
      },
      NODES_END_WITHIN_MS,
    );
    const builtIn = (Date.now() - down) / 1000;
    console.log(`all 15 nodes ended ${builtIn.toFixed(1)} s into the outage; dbt's own elapsed time: ${readBuildRunResults(buildId).elapsed_time?.toFixed(1)} s`);
    expect((await handle.describe()).status.name).toBe('RUNNING'); // the producer still owes the records

    await new Promise((r) => setTimeout(r, Math.max(0, MIN_OUTAGE_MS - (Date.now() - down))));
    metadata = await startMetadataPostgres();
    const back = Date.now();
    const result = await waitForBuild(handle);
    loop.disable();
    console.log(`records written ${((Date.now() - back) / 1000).toFixed(1)} s after Postgres came back; worker event loop delay max ${(loop.max / 1e6).toFixed(0)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms`);
    expect(result.ok).toBe(true);
    expect(result.progress!.recordingFailures).toBeUndefined();

    const root = (await buildExecution(pool, buildId))!;
    expect(root).toMatchObject({ status: 'success', completed_successfully: true });
    const children = await childrenOf(pool, root.id);
    expect(children).toHaveLength(15);
    expect(new Set(children.map((c) => c.pipeline)).size).toBe(15);
    const closure = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pipeline_execution_closure c JOIN pipeline_execution e ON e.id = c.child_execution_id WHERE e.id = $1 OR e.parent_id = $1',
      [root.id],
    );
    expect(closure.rows[0]!.n).toBe(1 + 15 * 2); // root's self row; each child's self row and its row under the root
    const all = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pipeline_execution');
    expect(all.rows[0]!.n).toBe(16);
  }, NODES_END_WITHIN_MS + 120_000);

  it('a freshness check started while it is down waits for it, then completes and alerts once', async () => {
    // The build above made the shop's pipelines; one of them is given a stale last DML.
    const stale = (
      await pool.query<{ id: number; name: string }>(
        `UPDATE pipeline SET freshness_number = 1, freshness_datepart = 'hour', last_target_insert = now() - interval '3 hours'
         WHERE name = 'model.shop.fct_orders' RETURNING id, name`,
      )
    ).rows[0]!;
    await metadata.stop();
    const handle = await client.workflow.start(CHECK_WORKFLOW_TYPES.freshness, { taskQueue, workflowId: uniqueName('pgdown-freshness'), args: [{}] });
    onTestFinished(async () => void (await handle.terminate('test ended').catch(() => undefined))); // nothing left running, whatever the outcome
    // Its activity fails against the stopped database and is retried (attempt 2 or more).
    await waitUntil('the check activity to be retried', async () => ((await handle.describe()).raw.pendingActivities?.[0]?.attempt ?? 0) >= 2, 60_000);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    metadata = await startMetadataPostgres();

    const summary = (await handle.result()) as CheckSummary;
    const key = summary.alertKeys.find((k) => k.startsWith(`freshness:${stale.id}:`));
    expect(key).toBeDefined();
    expect(summary.findings).toContainEqual(expect.objectContaining({ pipeline_id: stale.id, pipeline_name: stale.name }));
    const bodies = receiver.accepted().map((r) => JSON.parse(r.body) as { idempotency_key: string; kind: string });
    expect(bodies.filter((b) => b.idempotency_key === key)).toEqual([expect.objectContaining({ kind: 'freshness_stale' })]);
    const logged = await pool.query('SELECT 1 FROM freshness_pipeline_log WHERE pipeline_id = $1', [stale.id]);
    expect(logged.rowCount).toBe(1);
  }, 180_000);
});
