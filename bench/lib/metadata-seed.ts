// The seeded metadata store shared by the benchmarks (bench/metadata.ts, bench/checks.ts): a
// fresh embedded Postgres, migrated, and builds of ~100 nodes every 10 minutes written
// server-side, shaped like real recording (roots, nodes, ~1% reruns, closure rows).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/devstack/ports.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/devstack/postgres.js';
import { BUILD_PIPELINE_TYPE } from '../../src/recording/records.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';

// Seeded shape: node pipelines in 10 groups of 100; 20 build pipelines, build g runs group g % 10.
export const NODE_PIPELINES = 1000;
export const BUILD_PIPELINES = 20;
export const NODES_PER_BUILD = 100;
export const BUILD_EVERY_MINUTES = 10;
export const NODE_FAILURE_RATE = 0.03;
const RERUN_RATE_OF_FAILED = 0.01;

/** Builds for about `executions` rows: each is a root + its nodes + ~1.03% reruns of failed nodes. */
export function buildsFor(executions: number): number {
  return Math.max(1, Math.round(executions / (1 + NODES_PER_BUILD * (1 + NODE_FAILURE_RATE * RERUN_RATE_OF_FAILED))));
}

const int = (n: number) => n.toLocaleString('en-US');

export interface BenchStore {
  pool: Pool;
  url: string;
  /** Postgres version and the settings that matter for a benchmark, one line. */
  describe(): Promise<string>;
  /** Stops Postgres and removes its data; safe to call twice. */
  close(): Promise<void>;
}

export interface BenchStoreOptions {
  /** Connections of the benchmark's own pool (default 4). */
  poolMax?: number;
  /** Run first when the store closes (or on Ctrl-C): e.g. stop a server that uses it. */
  beforeClose?: () => Promise<void>;
  /** Extra Postgres settings (`-c name=value`). */
  settings?: Record<string, string>;
}

/** A fresh, migrated embedded Postgres in a temp dir; Ctrl-C stops it and removes the data. */
export async function openBenchStore(name: string, progress: (line: string) => void, options: BenchStoreOptions = {}): Promise<BenchStore> {
  const home = mkdtempSync(path.join(os.tmpdir(), `watcher-bench-${name}-`));
  chmodSync(home, 0o755); // as root, Postgres runs as `postgres` and must reach its data dir
  let pgHandle: EmbeddedPostgresHandle | undefined;
  let pool: Pool | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await options.beforeClose?.().catch((err: unknown) => console.error(`closing failed: ${String(err)}`));
    await pool?.end().catch(() => undefined);
    await pgHandle?.stop().catch((err: unknown) => console.error(`stopping Postgres failed: ${String(err)}`));
    if (pgHandle && !pgHandle.dataDir.startsWith(home)) rmSync(pgHandle.dataDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  };
  // Ctrl-C must not leave a postmaster and a few GB behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: cleaning up`);
      void close().finally(() => process.exit(130));
    });
  }
  try {
    progress('starting embedded Postgres');
    pgHandle = await startEmbeddedPostgres({ dataDir: path.join(home, 'pg'), port: await freePort(), databases: ['watcher'], settings: options.settings });
    const url = pgHandle.url('watcher');
    await migrate(url);
    const open = createPool(url, { max: options.poolMax ?? 4 });
    pool = open;
    const describe = async () => {
      const version = (await open.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
      const settings = (
        await open.query<{ name: string; value: string }>(
          `SELECT name, current_setting(name) AS value FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'effective_cache_size', 'synchronous_commit', 'max_parallel_workers_per_gather') ORDER BY name`,
        )
      ).rows.map((s) => `${s.name}=${s.value}`);
      return `Postgres ${version} (embedded, default settings: ${settings.join(', ')})`;
    };
    return { pool: open, url, describe, close };
  } catch (err) {
    await close();
    throw err;
  }
}

// Seeding: all server-side. Ids are explicit (root of build b = b*101+1, its nodes follow) so a
// build's rows sit together on disk as they would when recorded, and parents are known without
// a lookup; the identity is moved past them afterwards so the recording API keeps working.

export interface Seeded {
  nodePipelines: Array<{ name: string; type: string }>;
  buildPipelines: string[];
  rootIds: number[];
  timings: Array<[string, number]>;
}

export async function seedMetadata(pool: Pool, executions: number, progress: (line: string) => void = () => undefined): Promise<Seeded> {
  const BUILDS = buildsFor(executions);
  const timings: Array<[string, number]> = [];
  const step = async (what: string, sql: string, params: unknown[] = []) => {
    progress(`seed: ${what}`);
    const started = performance.now();
    const result = await pool.query(sql, params);
    timings.push([what, performance.now() - started]);
    return result;
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
export async function describeSeed(pool: Pool): Promise<string[]> {
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
