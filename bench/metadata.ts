// Benchmark of Watcher's execution metadata at scale: a fresh embedded Postgres seeded with
// ~1,000,000 executions (builds of ~100 nodes every 10 minutes), then the read API of
// src/store/queries.ts (p50/p95/max against a 20 ms p95 target) and the recording API
// (recordExecutions in withTransaction: node records per second, first write and re-record).
//   npx tsx bench/metadata.ts [--executions 1000000] [--samples 300] [--rounds 5]
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  BUILD_PIPELINE_TYPE,
  buildExecutionKey,
  nodeExecutionKey,
  rerunExecutionKey,
  type ExecutionRecord,
} from '../src/recording/records.js';
import { withTransaction, type Pool } from '../src/store/db.js';
import { recordExecutions } from '../src/store/executions.js';
import { childrenOf, descendantsOf, lastSuccessPerPipeline, recentExecutions } from '../src/store/queries.js';
import { fmt, quantile, summarize } from './stats.js';
import { describeSeed, NODE_FAILURE_RATE, openBenchStore, seedMetadata, type Seeded } from './lib/metadata-seed.js';
import { mulberry32 } from './lib/prng.js';
import { benchReport } from './lib/report.js';

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


// Recording: how the producer sends records (root first, then nodes in batches of <= 500).
const REC_BUILDS = 40;
const REC_NODES = 250;
const REC_BATCH = 500;

const { out, progress, elapsedSeconds, save } = benchReport('metadata');

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

const store = await openBenchStore('metadata', progress);
try {
  const pool = store.pool;
  const seedStarted = performance.now();
  const seeded = await seedMetadata(pool, EXECUTIONS, progress);
  const seedMs = performance.now() - seedStarted;
  const shape = await describeSeed(pool);
  const sizes = await tableSizes(pool);
  const queries = await measureQueries(pool, seeded);
  const recording = await measureRecording(pool, seeded);

  const cpus = os.cpus();
  out(`Watcher metadata benchmark, ${new Date().toISOString()}`);
  out(`machine: ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB RAM, Node ${process.version}`);
  out(await store.describe());
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
  out(`whole run: ${secs(elapsedSeconds() * 1000)}`);

  const file = save();
  progress(`report written to ${file}`);
} finally {
  await store.close();
}
