// Benchmark of Watcher's execution metadata at scale: a fresh embedded Postgres seeded with
// ~1,000,000 executions (builds of ~100 nodes every 10 minutes), then the read API of
// src/store/queries.ts (p50/p95/max against a 20 ms p95 target) and the recording API
// (recordExecutions in withTransaction: node records per second, first write and re-record).
//   npx tsx bench/metadata.ts [--executions 1000000] [--samples 300] [--rounds 5]
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../src/devstack/ports.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../src/devstack/postgres.js';
import {
  BUILD_PIPELINE_TYPE,
  buildExecutionKey,
  nodeExecutionKey,
  rerunExecutionKey,
  type ExecutionRecord,
} from '../src/recording/records.js';
import { createPool, withTransaction, type Pool } from '../src/store/db.js';
import { recordExecutions } from '../src/store/executions.js';
import { migrate } from '../src/store/migrate.js';
import { childrenOf, descendantsOf, lastSuccessPerPipeline, recentExecutions } from '../src/store/queries.js';
import { fmt, quantile, summarize } from './stats.js';
import { mulberry32 } from './lib/prng.js';

const { values: args } = parseArgs({
  options: {
    executions: { type: 'string', default: '1000000' },
    samples: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '5' },
  },
});
const EXECUTIONS = Number(args.executions);
const SAMPLES = Number(args.samples);
const ROUNDS = Math.max(3, Number(args.rounds));
const ALL_PIPELINES_SAMPLES = Math.min(50, SAMPLES); // the all-pipelines query is ~1,000 lookups
const WARMUP = 30;
const TARGET_P95_MS = 20;

// Seeded shape: node pipelines in 10 groups of 100; 20 build pipelines, build g runs group g % 10.
const NODE_PIPELINES = 1000;
const BUILD_PIPELINES = 20;
const NODES_PER_BUILD = 100;
const BUILD_EVERY_MINUTES = 10;
const NODE_FAILURE_RATE = 0.03;
const RERUN_RATE_OF_FAILED = 0.01;
// about 1.03 executions per build beyond root + nodes are reruns (100 * 3% * 1%)
const BUILDS = Math.max(1, Math.round(EXECUTIONS / (1 + NODES_PER_BUILD * (1 + NODE_FAILURE_RATE * RERUN_RATE_OF_FAILED))));

// Recording: how the producer sends records (root first, then nodes in batches of <= 500).
const REC_BUILDS = 40;
const REC_NODES = 250;
const REC_BATCH = 500;

const runStarted = performance.now();
const report: string[] = [];
const out = (line = '') => {
  report.push(line);
  console.log(line);
};
const progress = (line: string) => console.error(`[${((performance.now() - runStarted) / 1000).toFixed(1)} s] ${line}`);

const rand = mulberry32(20240601);
const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const int = (n: number) => n.toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------
// Seeding: all server-side. Ids are explicit (root of build b = b*101+1, its nodes follow) so a
// build's rows sit together on disk as they would when recorded, and parents are known without
// a lookup; the identity is moved past them afterwards so the recording API keeps working.

interface Seeded {
  nodePipelines: Array<{ name: string; type: string }>;
  buildPipelines: string[];
  rootIds: number[];
  timings: Array<[string, number]>;
}

async function seed(pool: Pool): Promise<Seeded> {
  const timings: Array<[string, number]> = [];
  const step = async (what: string, sql: string, params: unknown[] = []) => {
    progress(`seed: ${what}`);
    const t = await timed(() => pool.query(sql, params));
    timings.push([what, t.ms]);
    return t.value;
  };

  await step(
    'pipelines',
    `INSERT INTO pipeline_type (name) VALUES ('dbt_model'), ('dbt_seed'), ('dbt_snapshot'), ($1) ON CONFLICT (name) DO NOTHING;`,
    [BUILD_PIPELINE_TYPE],
  );
  // 85% models, 10% snapshots, 5% seeds; names shaped like dbt unique ids.
  await pool.query(
    `INSERT INTO pipeline (name, pipeline_type_id)
     SELECT format('%s.bench.%s_%s', k.kind, k.kind, lpad(i::text, 4, '0')), t.id
     FROM generate_series(1, $1) AS i
     CROSS JOIN LATERAL (SELECT CASE WHEN i % 20 = 0 THEN 'seed' WHEN i % 10 = 5 THEN 'snapshot' ELSE 'model' END AS kind) k
     JOIN pipeline_type t ON t.name = 'dbt_' || k.kind
     ORDER BY i`,
    [NODE_PIPELINES],
  );
  await pool.query(
    `INSERT INTO pipeline (name, pipeline_type_id)
     SELECT 'dbt:bench:default:select=tag:group_' || lpad(g::text, 2, '0'), t.id
     FROM generate_series(0, $1 - 1) AS g JOIN pipeline_type t ON t.name = $2 ORDER BY g`,
    [BUILD_PIPELINES, BUILD_PIPELINE_TYPE],
  );
  const pipes = await pool.query<{ id: number; name: string; type: string }>(
    'SELECT p.id, p.name, t.name AS type FROM pipeline p JOIN pipeline_type t ON t.id = p.pipeline_type_id ORDER BY p.id',
  );
  const nodes = pipes.rows.filter((p) => p.type !== BUILD_PIPELINE_TYPE);
  const builds = pipes.rows.filter((p) => p.type === BUILD_PIPELINE_TYPE);

  await pool.query('SELECT setseed(0.42)');
  // One lateral subquery per build: its nodes (materialized once), then the root aggregated
  // from them (it ends after its last node, and fails when any node failed).
  await step(
    'roots + nodes',
    `INSERT INTO pipeline_execution
       (id, parent_id, pipeline_id, execution_key, status, start_date, date_recorded, hour_recorded, end_date,
        duration_seconds, completed_successfully, inserts, total_rows, throughput, execution_metadata)
     OVERRIDING SYSTEM VALUE
     SELECT x.id, x.parent_id, x.pipeline_id, 'seed:' || x.id, x.status::execution_status, x.start_date,
            (x.start_date AT TIME ZONE 'UTC')::date, extract(hour FROM x.start_date AT TIME ZONE 'UTC')::smallint,
            x.end_date, extract(epoch FROM x.end_date - x.start_date), x.status = 'success',
            x.total_rows, x.total_rows,
            round(x.total_rows / greatest(extract(epoch FROM x.end_date - x.start_date), 0.001), 4),
            x.meta
     FROM (SELECT b, date_trunc('minute', now()) - ($1 - b) * make_interval(mins => $6) AS t0 FROM generate_series(0, $1 - 1) AS b) AS bb
     CROSS JOIN LATERAL (
       WITH n AS MATERIALIZED (
         SELECT bb.b * ($2 + 1) + 2 + k AS id, k,
                ((k * 10 + bb.b % $5 % 10) % cardinality($3::int[])) + 1 AS node,
                bb.t0 + k * interval '3 seconds' + random() * interval '2 seconds' AS start_date,
                0.2 + 60 * random() ^ 3 AS seconds,
                random() < $7 AS failed
         FROM generate_series(0, $2 - 1) AS k
       )
       SELECT bb.b * ($2 + 1) + 1 AS id, NULL::bigint AS parent_id, ($4::int[])[bb.b % $5 + 1] AS pipeline_id,
              CASE WHEN bool_or(n.failed) THEN 'error' ELSE 'success' END AS status,
              bb.t0 AS start_date, max(n.start_date + n.seconds * interval '1 second') + interval '1 second' AS end_date,
              NULL::bigint AS total_rows,
              jsonb_build_object('build_id', 'bench-' || bb.b, 'project', 'bench', 'nodes', count(*), 'tests', 0) AS meta
       FROM n
       UNION ALL
       SELECT n.id, bb.b * ($2 + 1) + 1, ($3::int[])[n.node],
              CASE WHEN n.failed THEN 'error' ELSE 'success' END,
              n.start_date, n.start_date + n.seconds * interval '1 second',
              CASE WHEN n.failed THEN NULL ELSE floor(1e6 * random() ^ 4)::bigint END,
              jsonb_build_object('unique_id', ($8::text[])[n.node], 'resource_type', substr(($9::text[])[n.node], 5),
                                 'dbt_status', CASE WHEN n.failed THEN 'error' ELSE 'success' END, 'materialization', 'table',
                                 'adapter_code', 'SELECT', 'thread', 'Thread-' || (n.k % 4 + 1),
                                 'execution_time_seconds', round(n.seconds::numeric, 3), 'attempt', 1, 'tests', '[]'::jsonb)
       FROM n
     ) AS x`,
    [
      BUILDS,
      NODES_PER_BUILD,
      nodes.map((p) => p.id),
      builds.map((p) => p.id),
      BUILD_PIPELINES,
      BUILD_EVERY_MINUTES,
      NODE_FAILURE_RATE,
      nodes.map((p) => p.name),
      nodes.map((p) => p.type),
    ],
  );
  await pool.query("SELECT setval(pg_get_serial_sequence('pipeline_execution', 'id'), (SELECT max(id) FROM pipeline_execution))");
  // A rerun (attempt 2) of ~1% of failed nodes, 30 s after the failure: a grandchild of the root.
  await step(
    'reruns',
    `INSERT INTO pipeline_execution (parent_id, pipeline_id, execution_key, status, start_date, date_recorded, hour_recorded, end_date,
                                     duration_seconds, completed_successfully, inserts, total_rows, throughput, execution_metadata)
     SELECT e.id, e.pipeline_id, e.execution_key || '/attempt:2', 'success', r.s,
            (r.s AT TIME ZONE 'UTC')::date, extract(hour FROM r.s AT TIME ZONE 'UTC')::smallint, r.s + interval '5 seconds',
            5, true, 1000, 1000, 200, e.execution_metadata || '{"attempt": 2, "dbt_status": "success"}'::jsonb
     FROM pipeline_execution e CROSS JOIN LATERAL (SELECT e.end_date + interval '30 seconds' AS s) r
     WHERE e.parent_id IS NOT NULL AND e.status = 'error' AND random() < $1
     ORDER BY e.id`,
    [RERUN_RATE_OF_FAILED],
  );
  // Self rows for every execution, then (parent, child, 1) and (grandparent, child, 2).
  await step(
    'closure',
    `INSERT INTO pipeline_execution_closure (parent_execution_id, child_execution_id, depth)
     SELECT id, id, 0 FROM pipeline_execution
     UNION ALL
     SELECT parent_id, id, 1 FROM pipeline_execution WHERE parent_id IS NOT NULL
     UNION ALL
     SELECT p.parent_id, e.id, 2 FROM pipeline_execution e JOIN pipeline_execution p ON p.id = e.parent_id WHERE p.parent_id IS NOT NULL`,
  );
  await step('vacuum analyze', 'VACUUM ANALYZE');

  const roots = await pool.query<{ id: number }>('SELECT id FROM pipeline_execution WHERE parent_id IS NULL ORDER BY id');
  return {
    nodePipelines: nodes.map((p) => ({ name: p.name, type: p.type })),
    buildPipelines: builds.map((p) => p.name),
    rootIds: roots.rows.map((r) => r.id),
    timings,
  };
}

/** Shape and consistency of the seeded data (the constraints the schema cannot state). */
async function describeSeed(pool: Pool): Promise<string[]> {
  const s = (
    await pool.query<Record<string, number>>(
      `SELECT count(*) AS total,
              count(*) FILTER (WHERE e.parent_id IS NULL) AS roots,
              count(*) FILTER (WHERE e.parent_id IS NOT NULL AND p.parent_id IS NULL) AS nodes,
              count(*) FILTER (WHERE p.parent_id IS NOT NULL) AS reruns,
              count(*) FILTER (WHERE e.parent_id IS NOT NULL AND p.parent_id IS NULL AND NOT e.completed_successfully) AS failed_nodes,
              count(*) FILTER (WHERE e.date_recorded <> (e.start_date AT TIME ZONE 'UTC')::date
                                  OR e.hour_recorded <> extract(hour FROM e.start_date AT TIME ZONE 'UTC')
                                  OR e.completed_successfully <> (e.status IN ('success', 'warn'))
                                  OR e.end_date < p.start_date) AS inconsistent,
              extract(epoch FROM max(e.start_date) - min(e.start_date)) / 86400 AS span_days
       FROM pipeline_execution e LEFT JOIN pipeline_execution p ON p.id = e.parent_id`,
    )
  ).rows[0]!;
  const c = (
    await pool.query<Record<string, number>>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE depth = 0) AS d0, count(*) FILTER (WHERE depth = 1) AS d1,
              count(*) FILTER (WHERE depth = 2) AS d2 FROM pipeline_execution_closure`,
    )
  ).rows[0]!;
  const closureOk = c.d0 === s.total && c.d1 === s.nodes! + s.reruns! && c.d2 === s.reruns;
  if (!closureOk || s.inconsistent !== 0) throw new Error(`seeded data inconsistent: ${JSON.stringify({ s, c })}`);
  return [
    `executions: ${int(s.total!)} = ${int(s.roots!)} build roots + ${int(s.nodes!)} nodes + ${int(s.reruns!)} reruns, over ${Number(s.span_days).toFixed(1)} days`,
    `failed nodes: ${int(s.failed_nodes!)} (${((100 * s.failed_nodes!) / s.nodes!).toFixed(2)}%), with a rerun: ${((100 * s.reruns!) / s.failed_nodes!).toFixed(2)}%`,
    `pipelines: ${NODE_PIPELINES} node (dbt_model/dbt_seed/dbt_snapshot) + ${BUILD_PIPELINES} build (dbt_build); one build every ${BUILD_EVERY_MINUTES} min, ${NODES_PER_BUILD} nodes each`,
    `closure rows: ${int(c.total!)} (depth 0: ${int(c.d0!)}, 1: ${int(c.d1!)}, 2: ${int(c.d2!)}); consistency checks passed`,
  ];
}

async function tableSizes(pool: Pool): Promise<string[]> {
  const r = await pool.query<{ name: string; total: string; heap: string; indexes: string }>(
    `SELECT t AS name, pg_size_pretty(pg_total_relation_size(t)) AS total, pg_size_pretty(pg_relation_size(t)) AS heap,
            pg_size_pretty(pg_indexes_size(t)) AS indexes
     FROM unnest(ARRAY['pipeline_execution', 'pipeline_execution_closure']::regclass[]) AS t`,
  );
  return r.rows.map((x) => `${x.name.padEnd(28)} ${x.total.padStart(8)} total (heap ${x.heap}, indexes ${x.indexes})`);
}

// ---------------------------------------------------------------------------------------------
// Queries: each kind gets a fresh random input per sample; kinds rotate within one loop so
// drift (autovacuum, caches, the machine) spreads over all of them alike.

interface QueryKind {
  label: string;
  samples: number;
  run: () => Promise<number>; // rows returned
}

async function measureQueries(pool: Pool, seeded: Seeded): Promise<string[]> {
  const nodeNames = seeded.nodePipelines.map((p) => p.name);
  const allNames = [...nodeNames, ...seeded.buildPipelines];
  const kinds: QueryKind[] = [
    { label: 'childrenOf(root)', samples: SAMPLES, run: async () => (await childrenOf(pool, pick(seeded.rootIds))).length },
    { label: 'lastSuccessPerPipeline([node])', samples: SAMPLES, run: async () => (await lastSuccessPerPipeline(pool, [pick(nodeNames)])).length },
    { label: 'descendantsOf(root)', samples: SAMPLES, run: async () => (await descendantsOf(pool, pick(seeded.rootIds))).length },
    { label: 'recentExecutions(pipeline, 20)', samples: SAMPLES, run: async () => (await recentExecutions(pool, pick(allNames), 20)).length },
    { label: 'lastSuccessPerPipeline() all', samples: ALL_PIPELINES_SAMPLES, run: async () => (await lastSuccessPerPipeline(pool)).length },
  ];
  progress(`queries: warm-up (${WARMUP} each)`);
  for (let i = 0; i < WARMUP; i++) for (const k of kinds) await k.run();

  progress(`queries: ${SAMPLES} samples, interleaved`);
  const ms = kinds.map(() => [] as number[]);
  const rows = kinds.map(() => [] as number[]);
  for (let i = 0; i < SAMPLES; i++) {
    // rotate the order each round; a kind with fewer samples runs in evenly spread rounds
    for (let j = 0; j < kinds.length; j++) {
      const idx = (i + j) % kinds.length;
      const k = kinds[idx]!;
      if (Math.floor(((i + 1) * k.samples) / SAMPLES) === Math.floor((i * k.samples) / SAMPLES)) continue;
      const t = await timed(k.run);
      ms[idx]!.push(t.ms);
      rows[idx]!.push(t.value);
    }
  }

  const lines = [`${'query'.padEnd(32)} ${'n'.padStart(4)} ${'rows'.padStart(6)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)}  vs p95 <= ${TARGET_P95_MS} ms`];
  kinds.forEach((k, i) => {
    const v = ms[i]!;
    const p95 = quantile(v, 0.95);
    const meanRows = rows[i]!.reduce((a, b) => a + b, 0) / rows[i]!.length;
    lines.push(
      `${k.label.padEnd(32)} ${String(v.length).padStart(4)} ${meanRows.toFixed(0).padStart(6)} ${quantile(v, 0.5).toFixed(2).padStart(8)} ${p95.toFixed(2).padStart(8)} ${Math.max(...v).toFixed(2).padStart(8)}  ${p95 <= TARGET_P95_MS ? 'PASS' : 'MISS'}`,
    );
  });
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Recording through the real API, shaped like concurrent builds: each build's root first
// (running), then node records across builds in completion order, in batches of 500, then
// each root's end. One transaction per call, one after the other.

interface RecordingPlan {
  prefix: string;
  rootStarts: ExecutionRecord[];
  nodeBatches: ExecutionRecord[][];
  rootEnds: ExecutionRecord[];
  nodeRecords: number;
  expectedRows: number;
  reruns: number;
}

function recordingPlan(round: number, seeded: Seeded): RecordingPlan {
  const prefix = `watcher/bench-r${round}-`;
  const base = Date.now();
  const rootStarts: ExecutionRecord[] = [];
  const rootEnds: ExecutionRecord[] = [];
  const timedNodes: Array<{ endMs: number; records: ExecutionRecord[] }> = [];
  let reruns = 0;
  for (let b = 0; b < REC_BUILDS; b++) {
    const workflowId = `${prefix}${b}`;
    const runId = randomUUID();
    const buildKey = buildExecutionKey(workflowId, runId);
    const startMs = base + b * 1000;
    const root: ExecutionRecord = {
      key: buildKey,
      pipeline: { name: seeded.buildPipelines[b % seeded.buildPipelines.length]!, type: BUILD_PIPELINE_TYPE },
      status: 'running',
      startDate: new Date(startMs).toISOString(),
      metadata: { build_id: `bench-r${round}-${b}`, workflow_id: workflowId, run_id: runId, project: 'bench', nodes: REC_NODES, tests: 0 },
    };
    rootStarts.push(root);
    let lastEnd = startMs;
    let failed = false;
    for (let n = 0; n < REC_NODES; n++) {
      const pipeline = seeded.nodePipelines[(b * REC_NODES + n) % seeded.nodePipelines.length]!;
      const nodeStart = startMs + n * 200 + rand() * 100;
      const nodeEnd = nodeStart + 200 + rand() ** 3 * 60_000;
      const error = rand() < NODE_FAILURE_RATE;
      failed ||= error;
      const rows = error ? undefined : Math.floor(1e6 * rand() ** 4);
      const nodeKey = nodeExecutionKey(buildKey, pipeline.name);
      const metadata = {
        unique_id: pipeline.name,
        resource_type: pipeline.type.slice(4),
        dbt_status: error ? 'error' : 'success',
        materialization: 'table',
        adapter_code: 'SELECT',
        thread: `Thread-${(n % 4) + 1}`,
        execution_time_seconds: (nodeEnd - nodeStart) / 1000,
        message: error ? 'Database Error in model (models/bench.sql)' : `SELECT ${rows}`,
        tests: [],
        attempt: 1,
        invocation_id: runId,
      };
      const records: ExecutionRecord[] = [
        {
          key: nodeKey,
          parentKey: buildKey,
          pipeline,
          status: error ? 'error' : 'success',
          startDate: new Date(nodeStart).toISOString(),
          endDate: new Date(nodeEnd).toISOString(),
          ...(rows === undefined ? {} : { inserts: rows, totalRows: rows }),
          metadata,
        },
      ];
      // a failed node's single-node rerun comes with its outcome, as a grandchild
      if (error && rand() < 0.25) {
        reruns++;
        records.push({
          key: rerunExecutionKey(buildKey, pipeline.name, 2),
          parentKey: nodeKey,
          pipeline,
          status: 'success',
          startDate: new Date(nodeEnd + 1000).toISOString(),
          endDate: new Date(nodeEnd + 3000).toISOString(),
          inserts: 1000,
          totalRows: 1000,
          metadata: { ...metadata, dbt_status: 'success', attempt: 2, message: 'SELECT 1000' },
        });
      }
      lastEnd = Math.max(lastEnd, nodeEnd + (records.length > 1 ? 3000 : 0));
      timedNodes.push({ endMs: nodeEnd, records });
    }
    rootEnds.push({ ...root, status: failed ? 'error' : 'success', endDate: new Date(lastEnd + 1000).toISOString() });
  }
  const stream = timedNodes.sort((a, b) => a.endMs - b.endMs).flatMap((x) => x.records);
  const nodeBatches: ExecutionRecord[][] = [];
  for (let i = 0; i < stream.length; i += REC_BATCH) nodeBatches.push(stream.slice(i, i + REC_BATCH));
  return { prefix, rootStarts, nodeBatches, rootEnds, nodeRecords: stream.length, expectedRows: REC_BUILDS + stream.length, reruns };
}

async function playRecording(pool: Pool, plan: RecordingPlan): Promise<{ ms: number; written: number }> {
  const started = performance.now();
  let written = 0;
  const record = async (records: ExecutionRecord[]) => {
    written += (await withTransaction(pool, (client) => recordExecutions(client, records))).written;
  };
  for (const root of plan.rootStarts) await record([root]);
  for (const batch of plan.nodeBatches) await record(batch);
  for (const root of plan.rootEnds) await record([root]);
  return { ms: performance.now() - started, written };
}

/** Rows of one round that landed: executions and their closure rows (self + one per ancestor). */
async function landed(pool: Pool, plan: RecordingPlan): Promise<{ executions: number; closure: number; ended: number }> {
  const r = await pool.query<{ executions: number; closure: number; ended: number }>(
    `WITH e AS (SELECT id, end_date FROM pipeline_execution WHERE execution_key LIKE $1)
     SELECT (SELECT count(*) FROM e) AS executions,
            (SELECT count(*) FILTER (WHERE end_date IS NOT NULL) FROM e) AS ended,
            (SELECT count(*) FROM pipeline_execution_closure c JOIN e ON e.id = c.child_execution_id) AS closure`,
    [`build:${plan.prefix}%`],
  );
  return r.rows[0]!;
}

async function measureRecording(pool: Pool, seeded: Seeded): Promise<string[]> {
  progress('recording: warm-up round');
  await playRecording(pool, recordingPlan(0, seeded));
  const first: number[] = [];
  const again: number[] = [];
  const notes: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const plan = recordingPlan(round, seeded);
    const w = await playRecording(pool, plan);
    const rows = await landed(pool, plan);
    // nodes + reruns each have a self row and one per ancestor (1 for a node, 2 for a rerun)
    const expectedClosure = plan.expectedRows + (plan.nodeRecords - plan.reruns) + 2 * plan.reruns;
    if (rows.executions !== plan.expectedRows || rows.ended !== plan.expectedRows || rows.closure !== expectedClosure) {
      throw new Error(`round ${round}: records did not land: ${JSON.stringify(rows)}, expected ${plan.expectedRows} executions and ${expectedClosure} closure rows`);
    }
    const r = await playRecording(pool, plan);
    if (r.written !== 0) throw new Error(`round ${round}: re-recording wrote ${r.written} rows, expected 0`);
    first.push((plan.nodeRecords / w.ms) * 1000);
    again.push((plan.nodeRecords / r.ms) * 1000);
    const line = `round ${round}: ${plan.nodeRecords} node records (${plan.reruns} reruns) in ${(w.ms / 1000).toFixed(2)} s, written ${w.written}; landed ${rows.executions} executions, ${rows.closure} closure rows; re-record ${(r.ms / 1000).toFixed(2)} s, written ${r.written}`;
    notes.push(line);
    progress(`recording: ${line}`);
  }
  return [
    `first write:          ${fmt(summarize(first), 'node records/s', 0)}`,
    `re-record (no-op):    ${fmt(summarize(again), 'node records/s', 0)}`,
    ...notes,
  ];
}

// ---------------------------------------------------------------------------------------------

const home = mkdtempSync(path.join(os.tmpdir(), 'watcher-bench-metadata-'));
chmodSync(home, 0o755); // as root, Postgres runs as `postgres` and must reach its data dir
let pgHandle: EmbeddedPostgresHandle | undefined;
let pool: Pool | undefined;
let cleaned = false;

async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  await pool?.end().catch(() => undefined);
  await pgHandle?.stop().catch((err: unknown) => console.error(`stopping Postgres failed: ${String(err)}`));
  if (pgHandle && !pgHandle.dataDir.startsWith(home)) rmSync(pgHandle.dataDir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}
// Ctrl-C must not leave a postmaster and a few GB behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  progress('starting embedded Postgres');
  pgHandle = await startEmbeddedPostgres({ dataDir: path.join(home, 'pg'), port: await freePort(), databases: ['watcher'] });
  const url = pgHandle.url('watcher');
  await migrate(url);
  pool = createPool(url, { max: 4 });
  const version = (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  const settings = (
    await pool.query<{ name: string; value: string }>(
      `SELECT name, current_setting(name) AS value FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'effective_cache_size', 'synchronous_commit', 'max_parallel_workers_per_gather') ORDER BY name`,
    )
  ).rows.map((s) => `${s.name}=${s.value}`);

  const seedStarted = performance.now();
  const seeded = await seed(pool);
  const seedMs = performance.now() - seedStarted;
  const shape = await describeSeed(pool);
  const sizes = await tableSizes(pool);
  const queries = await measureQueries(pool, seeded);
  const recording = await measureRecording(pool, seeded);

  const cpus = os.cpus();
  out(`Watcher metadata benchmark, ${new Date().toISOString()}`);
  out(`machine: ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB RAM, Node ${process.version}`);
  out(`Postgres ${version} (embedded, default settings: ${settings.join(', ')})`);
  out();
  out(`== seed (server-side SQL, --executions ${int(EXECUTIONS)}) ==`);
  shape.forEach((l) => out(l));
  out(`seeding took ${secs(seedMs)}: ${seeded.timings.map(([what, ms]) => `${what} ${secs(ms)}`).join(', ')}`);
  sizes.forEach((l) => out(l));
  out();
  out(`== queries (src/store/queries.ts; random inputs, kinds interleaved, after ${WARMUP} warm-up calls each) ==`);
  queries.forEach((l) => out(l));
  out();
  out(`== recording (recordExecutions in withTransaction, ${ROUNDS} rounds after a warm-up round) ==`);
  out(`per round: ${REC_BUILDS} builds x ${REC_NODES} nodes; each root first (1 transaction each), node records across builds in`);
  out(`completion order in batches of ${REC_BATCH}, then each root's end; sequential. rate = node records / wall time of all of it`);
  recording.forEach((l) => out(l));
  out();
  out(`whole run: ${secs(performance.now() - runStarted)}`);

  const resultsDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `metadata-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`);
  writeFileSync(file, `${report.join('\n')}\n`);
  progress(`report written to ${file}`);
} finally {
  await cleanup();
}
