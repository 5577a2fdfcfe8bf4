// Benchmark of the monitoring checks (src/monitoring/) over a large store: a fresh embedded
// Postgres seeded like bench/metadata.ts (1,000 node pipelines + 20 build pipelines, builds of
// 100 nodes every 10 minutes; 100,000 executions by default), with type-level freshness and
// timeliness thresholds and 3 anomaly rules per pipeline (what dbt node pipelines get by default).
// Each round times every check twice, alternating: "first" after its log is emptied (it finds
// and logs everything), then "repeat" (nothing new: the steady state of a scheduled check).
// Anomaly detection is timed per ended execution, inside a transaction that is rolled back.
//   npx tsx bench/checks.ts [--executions 100000] [--rounds 7] [--detections 300]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { detectAnomalies } from '../src/monitoring/anomaly.js';
import { DEFAULT_FAILURE_RATE_RULE, runFailureRateCheck } from '../src/monitoring/failure-rate.js';
import { runFreshnessCheck } from '../src/monitoring/freshness.js';
import { recentAnomalies } from '../src/monitoring/recent-anomalies.js';
import { runTimelinessCheck } from '../src/monitoring/timeliness.js';
import type { Pool } from '../src/store/db.js';
import { describeSeed, openBenchStore, seedMetadata } from './lib/metadata-seed.js';
import { mulberry32 } from './lib/prng.js';
import { benchReport } from './lib/report.js';
import { fmt, summarize } from './stats.js';

const { values: args } = parseArgs({
  options: {
    executions: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '7' },
    detections: { type: 'string', default: '300' },
  },
});
const EXECUTIONS = Number(args.executions);
const ROUNDS = Math.max(3, Number(args.rounds));
const DETECTIONS = Math.max(10, Number(args.detections));

const { out, progress, elapsedSeconds, save } = benchReport('checks');
const rand = mulberry32(20261202);

/** Thresholds and rules a real installation has: the checks find something, and detection has baselines. */
async function configureChecks(pool: Pool): Promise<void> {
  // Each node runs every 100 minutes in the seed: a 1-hour freshness threshold makes ~40% stale.
  await pool.query(`UPDATE pipeline_type SET freshness_number = 1, freshness_datepart = 'hour', timeliness_number = 1, timeliness_datepart = 'minute'`);
  // Last DML from the successful executions with rows, as recording sets it.
  await pool.query(
    `UPDATE pipeline p SET last_target_insert = x.last
     FROM (SELECT pipeline_id, max(end_date) AS last FROM pipeline_execution WHERE completed_successfully AND inserts > 0 GROUP BY pipeline_id) x
     WHERE x.pipeline_id = p.id`,
  );
  await pool.query(
    `INSERT INTO anomaly_detection_rule (pipeline_id, metric_field)
     SELECT p.id, m::anomaly_metric FROM pipeline p CROSS JOIN unnest(ARRAY['duration_seconds', 'total_rows', 'throughput']) AS m
     ON CONFLICT DO NOTHING`,
  );
  await pool.query('VACUUM ANALYZE');
}

interface Timed {
  ms: number;
  found: number;
}

async function time(fn: () => Promise<number>): Promise<Timed> {
  const started = performance.now();
  const found = await fn();
  return { ms: performance.now() - started, found };
}

interface CheckKind {
  label: string;
  /** Empties what the check logs, so its next run is a "first" run. */
  reset?: string;
  run: () => Promise<number>;
}

async function measureChecks(pool: Pool): Promise<string[]> {
  const kinds: CheckKind[] = [
    { label: 'freshness (all pipelines)', reset: 'TRUNCATE freshness_pipeline_log', run: async () => (await runFreshnessCheck(pool)).new_alerts.length },
    { label: 'timeliness (lookback 60 min)', reset: 'TRUNCATE timeliness_pipeline_execution_log', run: async () => (await runTimelinessCheck(pool, 60)).new_alerts.length },
    { label: 'timeliness (lookback 24 h)', reset: 'TRUNCATE timeliness_pipeline_execution_log', run: async () => (await runTimelinessCheck(pool, 1440)).new_alerts.length },
    { label: 'failure rate (24 h window)', run: async () => (await runFailureRateCheck(pool, DEFAULT_FAILURE_RATE_RULE)).failing.length },
    { label: 'anomaly alerts (recent results)', run: async () => (await recentAnomalies(pool)).length },
  ];
  const first = kinds.map(() => [] as Timed[]);
  const repeat = kinds.map(() => [] as Timed[]);
  // Warm-up: one of each, not counted.
  for (const k of kinds) {
    if (k.reset) await pool.query(k.reset);
    await k.run();
  }
  for (let round = 0; round < ROUNDS; round++) {
    progress(`checks: round ${round + 1} of ${ROUNDS}`);
    // Rotate the order each round, so drift spreads over every check alike.
    for (let j = 0; j < kinds.length; j++) {
      const i = (round + j) % kinds.length;
      const k = kinds[i]!;
      if (k.reset) await pool.query(k.reset);
      first[i]!.push(await time(k.run));
      repeat[i]!.push(await time(k.run));
    }
  }
  const lines = [`DEFAULT_FAILURE_RATE_RULE: ${JSON.stringify(DEFAULT_FAILURE_RATE_RULE)}`];
  kinds.forEach((k, i) => {
    const found = first[i]!.map((t) => t.found);
    lines.push(`${k.label}: found ${Math.min(...found)}${Math.max(...found) !== Math.min(...found) ? `-${Math.max(...found)}` : ''}`);
    lines.push(`  first run:  ${fmt(summarize(first[i]!.map((t) => t.ms)), 'ms', 1)}`);
    const again = Math.max(...repeat[i]!.map((t) => t.found));
    // Checks without a log find the same again; their alerts' keys (per window, per result) keep them from repeating.
    lines.push(`  repeat run: ${fmt(summarize(repeat[i]!.map((t) => t.ms)), 'ms', 1)} (${k.reset ? `${again} new` : `${again} found again, not re-alerted: same keys`})`);
  });
  return lines;
}

/** detectAnomalies on random successful node executions of the last day, each rolled back. */
async function measureDetection(pool: Pool): Promise<string[]> {
  const recent = await pool.query<{ id: number }>(
    `SELECT id FROM pipeline_execution WHERE completed_successfully AND parent_id IS NOT NULL AND start_date > now() - interval '1 day' ORDER BY id`,
  );
  const ids = recent.rows.map((r) => r.id);
  const client = await pool.connect();
  const ms: number[] = [];
  let anomalies = 0;
  try {
    for (let i = 0; i < DETECTIONS + 20; i++) {
      const id = ids[Math.floor(rand() * ids.length)]!;
      await client.query('BEGIN');
      const started = performance.now();
      const found = await detectAnomalies(client, id);
      const took = performance.now() - started;
      await client.query('ROLLBACK');
      if (i < 20) continue; // warm-up
      ms.push(took);
      anomalies += found.length;
    }
  } finally {
    client.release();
  }
  const per = summarize(ms);
  return [
    `detectAnomalies (3 rules, 7-day same-hour baseline): ${fmt(per, 'ms', 2)}; p99 ${per.p99.toFixed(2)} ms`,
    `  ${anomalies} anomalies in ${ms.length} executions; a 100-node build's detection at the median: ${((per.median * 100) / 1000).toFixed(2)} s`,
  ];
}

const store = await openBenchStore('checks', progress);
try {
  const pool = store.pool;
  const seedStarted = performance.now();
  await seedMetadata(pool, EXECUTIONS, progress);
  const shape = await describeSeed(pool);
  await configureChecks(pool);
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  const checks = await measureChecks(pool);
  const detection = await measureDetection(pool);

  const cpus = os.cpus();
  out(`Watcher monitoring checks benchmark, ${new Date().toISOString()}`);
  out(`machine: ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB RAM, Node ${process.version}`);
  out(await store.describe());
  out();
  out(`== store (--executions ${EXECUTIONS}; seeded and configured in ${seedSeconds.toFixed(1)} s) ==`);
  shape.forEach((l) => out(l));
  out('thresholds: freshness 1 hour and timeliness 1 minute on every pipeline type; rules duration_seconds, total_rows, throughput on every pipeline');
  out();
  out(`== checks (${ROUNDS} rounds after a warm-up, order rotated each round) ==`);
  checks.forEach((l) => out(l));
  out();
  out('== anomaly detection after an execution ends ==');
  detection.forEach((l) => out(l));
  out();
  out(`whole run: ${elapsedSeconds().toFixed(1)} s`);

  const file = save();
  progress(`report written to ${file}`);
} finally {
  await store.close();
}
