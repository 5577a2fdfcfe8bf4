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
import { startBuild, waitForBuild } from '../src/client.js';
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

/** ms from the alert's due moment to its arrival at the receiver (bounded wait). */
async function latencyOf(key: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = receiver.accepted().find((r) => (JSON.parse(r.body) as AlertPayloadV1).idempotency_key === key);
    if (got) return got.at - Date.parse((JSON.parse(got.body) as AlertPayloadV1).details.due_by as string);
    if (Date.now() > deadline) throw new Error(`no alert ${key} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
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
  const [build, node] = await Promise.all([latencyOf(`timeliness:${buildKey}`, 180_000), latencyOf(`timeliness:${nodeExecutionKey(buildKey, SLOW_TIMED)}`, 180_000)]);
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
} finally {
  await bench.stop();
  await store.end();
  await receiver.close();
}
