// Watcher's TypeScript client against a running server (`watcher serve`, or `watcher dev`):
//
//   WATCHER_API_URL=http://127.0.0.1:8300 WATCHER_API_TOKEN=wt_... npx tsx examples/api-client.ts
//
// It lists the latest builds, records one run of a (non-dbt) pipeline the way etl-watcher's
// SDK does (sync the pipeline, start an execution, end it) and reads it back. With
// WATCHER_START_BUILD=1 it first builds the example dbt project through the API and waits for
// it (a worker must be running; WATCHER_SHOP_DIR and WATCHER_BUILD_VARS (JSON) override the
// project directory and its vars).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Watcher, WatcherApiError } from 'watcher/api-client';

const baseUrl = process.env.WATCHER_API_URL;
if (!baseUrl) {
  console.error('set WATCHER_API_URL (and WATCHER_API_TOKEN unless the server runs without auth)');
  process.exit(2);
}
const watcher = new Watcher({ baseUrl, token: process.env.WATCHER_API_TOKEN });

async function main(): Promise<void> {
  if (process.env.WATCHER_START_BUILD === '1') {
    const projectDir = process.env.WATCHER_SHOP_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'shop');
    const vars = process.env.WATCHER_BUILD_VARS ? (JSON.parse(process.env.WATCHER_BUILD_VARS) as Record<string, unknown>) : undefined;
    const started = await watcher.startBuild({ projectDir, vars, nodeRetries: 0 });
    console.log(`started build ${started.buildId}${started.uiUrl ? ` (${started.uiUrl})` : ''}`);
    const build = await watcher.waitForBuild(started.buildId, { timeoutMs: 10 * 60_000, pollMs: 1_000 });
    const counts = Object.entries(build.nodeCounts).map(([status, n]) => `${status}=${n}`).join(' ');
    console.log(`build ${build.buildId}: ${build.status}, ${build.nodes.length} nodes (${counts})`);
  }

  const builds = await watcher.listBuilds({ limit: 5 });
  console.log(`latest builds: ${builds.length}`);
  for (const b of builds) console.log(`  ${b.buildId} ${b.status} ${b.startDate ?? ''} ${b.pipeline ?? ''}`);

  const name = process.env.WATCHER_EXAMPLE_PIPELINE ?? 'example_orders_extract';
  const nextWatermark = new Date().toISOString();
  const pipeline = await watcher.syncPipeline({ name, pipeline_type_name: 'extract', next_watermark: nextWatermark, freshness_number: 1, freshness_datepart: 'day' });
  console.log(`pipeline ${name}: id ${pipeline.id}, ${pipeline.created ? 'created' : 'existing'}, watermark ${pipeline.watermark ?? '(none yet)'}`);

  const { id } = await watcher.startExecution({ pipeline_id: pipeline.id, start_date: new Date(), next_watermark: nextWatermark });
  // ... extract the rows between the watermark and nextWatermark here ...
  await watcher.endExecution({ id, end_date: new Date(), completed_successfully: true, inserts: 42, total_rows: 42 });
  const execution = await watcher.getExecution(id);
  console.log(`execution ${execution.id}: completed_successfully=${String(execution.completed_successfully)} total_rows=${String(execution.total_rows)}`);

  const [mark] = await watcher.watermarks({ name });
  console.log(`watermark of ${name}: ${mark?.watermark ?? '(none)'}`);
}

main().catch((err: unknown) => {
  if (err instanceof WatcherApiError) console.error(`watcher API error ${err.status} ${err.kind}: ${err.message}`);
  else console.error(err);
  process.exitCode = 1;
});
