// Alert latency of exact timeliness: from the moment a node, and a build, runs past its timeliness
// threshold (its due moment: start + threshold) to a JSON webhook on 127.0.0.1 receiving its
// `timeliness_late` alert. Each build is a copy of examples/shop whose int_customer_orders has
// `meta.watcher.timeliness: 1 minute` and sleeps past it (the build's own pipeline gets a 1-minute
// threshold too), on the embedded stack with an in-process worker: one node sample and one build
// sample per build. The path measured: Temporal's durable timer fires, the workflow starts its
// ABANDONed deliverAlerts child, whose sendAlerts activity claims the key in Postgres and POSTs.
//   npx tsx bench/alert-latency.ts [--runs 6] [--parallel 3] [--sleep 66]
//   --runs      builds in all (default 6)
//   --parallel  builds at a time, each into its own schema (default 3; 1 = one after another)
//   --sleep     seconds the slow model sleeps, more than 60 (default 66)
import { cpSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { startBuild, waitForBuild } from '../src/client.js';
import { alertWorkflowId, nodeWorkflowId } from '../src/contracts/names.js';
import { createNotifier, loadNotifierConfig, type AlertPayloadV1 } from '../src/monitoring/notifier.js';
import { BUILD_PIPELINE_TYPE, buildExecutionKey, nodeExecutionKey } from '../src/recording/records.js';
import { patchPipeline } from '../src/store/catalog.js';
import { createPool, withTransaction, type Pool } from '../src/store/db.js';
import { syncPipelines } from '../src/store/pipelines.js';
import { installRuntime } from '../src/temporal/runtime.js';
import { ensureToolchain, PROJECT_ROOT } from '../src/toolchain.js';
import { Receiver } from '../test/support/receiver.js';
import { makeShopSlow, SLOW_TIMED } from '../test/support/slow-shop.js';
import { startInProcessBench } from './lib/in-process.js';
import { fmt, summarize } from './stats.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '6' }, parallel: { type: 'string', default: '3' }, sleep: { type: 'string', default: '66' } } });
const RUNS = Number(args.runs);
const PARALLEL = Number(args.parallel);
const SLEEP = Number(args.sleep);
if (!(RUNS >= 1 && PARALLEL >= 1 && SLEEP > 60)) throw new Error('--runs and --parallel must be at least 1, --sleep more than 60');

installRuntime('ERROR');
const tools = ensureToolchain();
const receiver = new Receiver();
await receiver.listen();
let pool: Pool | undefined;
const bench = await startInProcessBench((stack, dbtEnv) => {
  pool = createPool(stack.file.databaseUrl);
  const url = `http://127.0.0.1:${receiver.port}/hooks/bench`;
  return { dbtEnv, dbtBin: tools.dbt, store: pool, notifier: createNotifier(loadNotifierConfig({ WATCHER_ALERT_WEBHOOK_URL: url })) };
});
const store = pool!;
const { client, taskQueue } = bench;
const project = path.join(bench.home, 'shop');
cpSync(path.join(PROJECT_ROOT, 'examples', 'shop'), project, { recursive: true, filter: (src) => !/[/\\](target|logs)$/.test(src) });
makeShopSlow(project);

/** ms from the alert's due moment to its arrival at the receiver (bounded wait), and where they went. */
async function latencyOf(workflowId: string, key: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = receiver.accepted().find((r) => (JSON.parse(r.body) as AlertPayloadV1).idempotency_key === key);
    if (got) {
      const due = Date.parse((JSON.parse(got.body) as AlertPayloadV1).details.due_by as string);
      await stagesOf(workflowId, key, due, got.at);
      return got.at - due;
    }
    if (Date.now() > deadline) throw new Error(`no alert ${key} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Stage = 'timer' | 'child' | 'activity' | 'post';
const stages: Record<Stage, number[]> = { timer: [], child: [], activity: [], post: [] };
const ms = (t: unknown) => tsToMs(t as Parameters<typeof tsToMs>[0]);

/**
 * Where the time went, from the histories: due moment -> TimerFired in the workflow that raised
 * the alert (the last timer it fired) -> deliverAlerts started -> its sendAlerts activity started
 * -> the receiver got the POST.
 */
async function stagesOf(workflowId: string, key: string, dueMs: number, receivedMs: number): Promise<void> {
  const raised = await client.workflow.getHandle(workflowId).fetchHistory();
  const fired = (raised.events ?? []).filter((e) => e.timerFiredEventAttributes).map((e) => ms(e.eventTime));
  const delivery = await client.workflow.getHandle(alertWorkflowId(key)).fetchHistory();
  const started = ms(delivery.events?.[0]?.eventTime);
  const activity = ms((delivery.events ?? []).find((e) => e.activityTaskStartedEventAttributes)?.eventTime);
  const timer = fired.filter((t) => t <= started).at(-1)!;
  stages.timer.push(timer - dueMs);
  stages.child.push(started - timer);
  stages.activity.push(activity - started);
  stages.post.push(receivedMs - activity);
}

async function oneBuild(i: number): Promise<{ node: number; build: number }> {
  const pipeline = `bench_exact_${i}`;
  await withTransaction(store, (c) => syncPipelines(c, [{ name: pipeline, type: BUILD_PIPELINE_TYPE, config: {} }]));
  await patchPipeline(store, { name: pipeline }, { timeliness_number: 1, timeliness_datepart: 'minute' });
  const { handle } = await startBuild(
    client,
    { projectDir: project, buildId: `latency-${i}`, pipeline, overlap: 'allow', nodeRetries: 0, select: ['+int_customer_orders'], vars: { schema: `latency_${i}`, shop_sleep_seconds: SLEEP } },
    { taskQueue },
  );
  const buildKey = buildExecutionKey(handle.workflowId, (await handle.describe()).runId);
  const [build, node] = await Promise.all([
    latencyOf(handle.workflowId, `timeliness:${buildKey}`, 180_000),
    latencyOf(nodeWorkflowId(`latency-${i}`, SLOW_TIMED), `timeliness:${nodeExecutionKey(buildKey, SLOW_TIMED)}`, 180_000),
  ]);
  await waitForBuild(handle);
  console.log(`build ${i}: node alert ${node} ms after its due moment, build alert ${build} ms after its`);
  return { node, build };
}

const started = Date.now();
const samples: Array<{ node: number; build: number }> = [];
try {
  for (let i = 0; i < RUNS; i += PARALLEL) {
    samples.push(...(await Promise.all(Array.from({ length: Math.min(PARALLEL, RUNS - i) }, (_, j) => oneBuild(i + j + 1)))));
  }
  console.log(`\n${RUNS} builds, ${PARALLEL} at a time, slow model sleeping ${SLEEP} s; ${Math.round((Date.now() - started) / 1000)} s in all`);
  console.log(`node:  ${fmt(summarize(samples.map((s) => s.node)), 'ms', 0)}`);
  console.log(`build: ${fmt(summarize(samples.map((s) => s.build)), 'ms', 0)}`);
  console.log(`all:   ${fmt(summarize(samples.flatMap((s) => [s.node, s.build])), 'ms', 0)}`);
  console.log('where it goes (all alerts):');
  console.log(`  due -> timer fired:             ${fmt(summarize(stages.timer), 'ms', 0)}`);
  console.log(`  timer fired -> child started:   ${fmt(summarize(stages.child), 'ms', 0)}`);
  console.log(`  child -> sendAlerts started:    ${fmt(summarize(stages.activity), 'ms', 0)}`);
  console.log(`  sendAlerts started -> received: ${fmt(summarize(stages.post), 'ms', 0)}`);
} finally {
  await bench.stop();
  await store.end();
  await receiver.close();
}
