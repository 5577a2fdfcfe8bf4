// Fault: the worker running a build is SIGKILLed at ten moments across one build, chosen from
// what dbt itself has logged so far (not from sleeps), so no case passes by luck. Each time the
// build resumes on a new worker and: the resumed dbt runs no node whose consumer had closed,
// nor any node the first dbt logged as passed; every consumer gets exactly one report; every
// execution is recorded once.
import type { Client } from '@temporalio/client';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import { nodeWorkflowId } from '../../src/contracts/names.js';
import { buildWorkDir } from '../../src/dbt/invocation.js';
import { parseDbtLogLine, type DbtEvent } from '../../src/dbt/events.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { buildExecution, childrenOf } from '../../src/store/queries.js';
import { connectTestClient, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';
import { dbtProcessesOf, progressOf, reportSignalsOf, startWorkerProcess, waitUntil, type WorkerProcess } from './support/faults.js';

let client: Client;
let close: () => Promise<void>;
let pool: Pool;
const workers: WorkerProcess[] = [];
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
  pool = createPool(stack().databaseUrl);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await pool.end();
  await close();
});

/** 15 models, seeds and snapshots and 26 tests in examples/shop. */
const SHOP_NODES = 41;

/** The first dbt's log so far: node events in order, and whether dbt wrote its end. */
function logOf(buildId: string): { exists: boolean; started: string[]; finished: Array<{ id: string; status: string; beforeStop: boolean }>; completed: boolean } {
  const file = path.join(buildWorkDir(SHOP_PROJECT, buildId), 'build-1', 'logs', 'dbt.log');
  const out = { exists: false, started: [] as string[], finished: [] as Array<{ id: string; status: string; beforeStop: boolean }>, completed: false };
  let stopping = false;
  if (!existsSync(file)) return out;
  out.exists = true;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!['"NodeStart"', '"NodeFinished"', '"CommandCompleted"', '"ArtifactWritten"', '"LogCancelLine"'].some((name) => line.includes(name))) continue;
    const event: DbtEvent | null = parseDbtLogLine(line);
    if (!event) continue;
    const id = (event.data.node_info as { unique_id?: string } | undefined)?.unique_id ?? '';
    if (event.name === 'NodeStart') out.started.push(id);
    else if (event.name === 'NodeFinished') out.finished.push({ id, status: (event.data.run_result as { status?: string } | undefined)?.status ?? '', beforeStop: !stopping });
    else if (event.name === 'CommandCompleted') out.completed = true;
    // On SIGINT dbt writes run_results.json, then cancels and closes: what it logs after that
    // is not a judged result (a seed was seen logged `success` with its table never committed).
    else if (event.name === 'LogCancelLine' || event.data.artifact_type === 'RunExecutionResult') stopping = true;
  }
  return out;
}

type Log = ReturnType<typeof logOf>;
/** Nodes the log shows passed before dbt began to stop (all of them, for a run that ended by itself). */
const passed = (log: Log) => new Set(log.finished.filter((f) => f.beforeStop && (f.status === 'success' || f.status === 'pass')).map((f) => f.id));

interface Moment {
  name: string;
  /**
   * True from the moment to kill on, from the first dbt's log (and whether dbt still runs).
   * Once true it stays true, so a moment is never missed between two looks.
   */
  at: (log: Log, dbtAlive: boolean) => boolean;
  /** Wait this long after the moment is seen. */
  afterMs?: number;
  /** The resumed worker is on another machine: the first dbt's log is not there. */
  logElsewhere?: boolean;
}

const MOMENTS: Moment[] = [
  { name: 'dbt build started (its log exists), before its first node', at: (l) => l.exists },
  { name: 'during the seeds', at: (l) => l.started.some((id) => id.startsWith('seed.')) },
  { name: 'the instant the first node finishes', at: (l) => l.finished.length >= 1 },
  { name: '250 ms after stg_orders finishes', at: (l) => l.finished.some((f) => f.id === 'model.shop.stg_orders'), afterMs: 250 },
  { name: '500 ms after the first test finishes', at: (l) => l.finished.some((f) => f.id.startsWith('test.')), afterMs: 500 },
  { name: 'within 100 ms after fct_orders finishes', at: (l) => l.finished.some((f) => f.id === 'model.shop.fct_orders'), afterMs: 100 },
  { name: 'during the marts (int_customer_orders running)', at: (l) => l.started.includes('model.shop.int_customer_orders'), afterMs: 500 },
  { name: 'when the last node finished, dbt still exiting', at: (l) => l.finished.length >= SHOP_NODES },
  { name: 'while reports drain after dbt exited', at: (l, alive) => l.completed && !alive },
  { name: 'during the marts, the first dbt log on another machine', at: (l) => l.started.includes('model.shop.int_customer_orders'), afterMs: 500, logElsewhere: true },
];

/** One kill and its resume; returns what happened, in figures. */
async function killAndResume(moment: Moment): Promise<string> {
  const taskQueue = uniqueName('kill');
  const doomed = await startWorkerProcess(taskQueue);
  workers.push(doomed);
  const buildId = uniqueName('kill').replace(/_/g, '-');
  // `allow`: the moments run side by side in their own schemas (the lock is not under test here).
  const { handle } = await startBuild(
    client,
    { projectDir: SHOP_PROJECT, buildId, nodeRetries: 0, threads: 4, overlap: 'allow', vars: { schema: uniqueName('t'), shop_sleep_seconds: 3 } },
    { taskQueue },
  );
  await waitUntil('the build to plan its nodes', async () => ((await progressOf(client, buildId))?.nodes.length ?? 0) > 0, 120_000);
  const planned = (await progressOf(client, buildId))!.nodes.map((n) => n.uniqueId);

  await waitUntil(`the moment: ${moment.name}`, () => moment.at(logOf(buildId), dbtProcessesOf(buildId).length > 0), 120_000, 10);
  if (moment.afterMs) await new Promise((r) => setTimeout(r, moment.afterMs));
  doomed.child.kill('SIGKILL');
  const atKill = logOf(buildId);

  // No worker now: which consumers have closed is frozen until the next one starts.
  const closed = new Set<string>();
  for (const id of planned) {
    const status = await client.workflow.getHandle(nodeWorkflowId(buildId, id)).describe().then((d) => d.status.name, () => 'NOT_STARTED');
    if (status !== 'RUNNING' && status !== 'NOT_STARTED') closed.add(id);
  }
  await waitUntil('dbt to die with its worker', () => dbtProcessesOf(buildId).length === 0, 30_000);
  const firstLog = logOf(buildId); // complete now: dbt is gone
  if (moment.logElsewhere) rmSync(path.join(buildWorkDir(SHOP_PROJECT, buildId), 'build-1'), { recursive: true, force: true });

  workers.push(await startWorkerProcess(taskQueue));
  const result = await waitForBuild(handle);
  const notPassed = result.progress?.nodes.filter((n) => n.status !== 'success').map((n) => `${n.uniqueId}: ${n.status}: ${n.message ?? ''}`);
  expect(result.error, `${moment.name}: ${JSON.stringify(notPassed)}`).toBeUndefined();
  expect(result.progress!.counts, moment.name).toEqual({ success: 15 });

  const resultsFile = path.join(buildWorkDir(SHOP_PROJECT, buildId), 'build-2', 'target', 'run_results.json');
  const rerun = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { results: Array<{ unique_id: string }> }).results.map((r) => r.unique_id) : [];
  // Nothing whose result reached its consumer runs again.
  expect(rerun.filter((id) => closed.has(id)), moment.name).toEqual([]);
  // Nothing the first dbt logged as passed (before it began to stop) runs again, when its log is on this machine.
  if (!moment.logElsewhere) expect(rerun.filter((id) => passed(firstLog).has(id)), moment.name).toEqual([]);

  for (const id of planned) {
    expect(await reportSignalsOf(client, nodeWorkflowId(buildId, id)), `${moment.name}: ${id}`).toBe(1);
  }
  const root = (await buildExecution(pool, buildId))!;
  const children = await childrenOf(pool, root.id);
  expect(children, moment.name).toHaveLength(15);
  expect(new Set(children.map((c) => c.pipeline)).size, moment.name).toBe(15);
  expect(dbtProcessesOf(buildId), moment.name).toEqual([]);
  return (
    `${moment.name}: at the kill dbt had logged ${atKill.finished.length} of ${SHOP_NODES} node results (${passed(atKill).size} passed), ` +
    `${passed(firstLog).size} passed by the time it stopped; ${closed.size} of 15 consumers had closed; ` +
    `the resumed dbt ran ${rerun.length} nodes${existsSync(resultsFile) ? '' : ' (no dbt was needed)'}`
  );
}

// Three at a time, to keep the suite's time down; each moment is read from its own build's log.
const GROUPS = [MOMENTS.slice(0, 4), MOMENTS.slice(4, 7), MOMENTS.slice(7)];

describe('a worker killed at ten moments of one build', () => {
  it.each(GROUPS.map((moments, i) => ({ moments, i: i + 1 })))('group $i: the resumed build re-runs nothing that had finished', async ({ moments }) => {
    const outcomes = await Promise.allSettled(moments.map(killAndResume));
    for (const o of outcomes) console.log(o.status === 'fulfilled' ? o.value : `FAILED: ${String(o.reason)}`);
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed.length) throw failed[0]!.reason;
  }, 300_000);
});
