// Benchmark of the dashboard in Chromium: the time from navigation to the page's own "ready"
// mark (performance mark 'watcher-ready', set once its data is on screen) for the builds page,
// a 3,500-node build's page and the lineage page with 1,000 relations, with 100,000
// executions in the store (seeded server-side, as bench/metadata.ts does).
//   npx tsx bench/dashboard.ts [--rounds 7] [--executions 100000] [--relations 1000] [--build-nodes 3500]
// Each round loads every page once in a fresh browser context (no cache), the order
// alternating between rounds, after one warm-up load each (the first request bundles the
// dashboard). Reported: median and min-max per page, and the part of it spent fetching data.
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../src/config.js';
import { startServer, type RunningServer } from '../src/server/serve.js';
import { withTransaction, type Pool } from '../src/store/db.js';
import { syncLineage, type AddressSpec, type PipelineLineage } from '../src/store/lineage.js';
import { CHROMIUM, launchChromium } from '../test/support/browser.js';
import { describeSeed, openBenchStore, seedMetadata } from './lib/metadata-seed.js';
import { mulberry32 } from './lib/prng.js';
import { benchReport } from './lib/report.js';
import { summarize } from './stats.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    executions: { type: 'string', default: '100000' },
    relations: { type: 'string', default: '1000' },
    'build-nodes': { type: 'string', default: '3500' },
    /** Seed, serve and wait (no measuring): to look at the pages by hand. */
    serve: { type: 'boolean', default: false },
  },
});
const ROUNDS = Math.max(1, Number(args.rounds));
const EXECUTIONS = Number(args.executions);
const RELATIONS = Number(args.relations);
const BUILD_NODES = Number(args['build-nodes']);
const BIG_BUILD = `bench-big-${BUILD_NODES}`;
const TARGETS_MS = { builds: 1000, build: 1000, lineage: 2000 } as const;

const report = benchReport('dashboard');
const { progress, out } = report;

/** Seeded builds are recorded as real ones are (`build:watcher/<buildId>:<runId>`), so the builds page lists them. */
async function nameSeededBuilds(pool: Pool): Promise<void> {
  await pool.query(
    `UPDATE pipeline_execution SET execution_key = 'build:watcher/' || (execution_metadata->>'build_id') || ':seed-run'
     WHERE parent_id IS NULL AND execution_key LIKE 'seed:%'`,
  );
}

/** One ended build of `nodes` models on 8 dbt threads, about a minute ago, as the recorder writes it. */
async function seedBigBuild(pool: Pool, nodes: number): Promise<void> {
  await pool.query(`INSERT INTO pipeline (name, pipeline_type_id) SELECT 'dbt:big:default', id FROM pipeline_type WHERE name = 'dbt_build'`);
  await pool.query(
    `INSERT INTO pipeline (name, pipeline_type_id)
     SELECT format('model.big.m_%s', lpad(i::text, 5, '0')), t.id FROM generate_series(1, $1) AS i JOIN pipeline_type t ON t.name = 'dbt_model' ORDER BY i`,
    [nodes],
  );
  const root = await pool.query<{ id: number }>(
    `INSERT INTO pipeline_execution (pipeline_id, execution_key, status, start_date, date_recorded, hour_recorded, end_date, duration_seconds, completed_successfully, execution_metadata)
     SELECT p.id, $1, 'error', s, (s AT TIME ZONE 'UTC')::date, extract(hour FROM s AT TIME ZONE 'UTC')::smallint, s + interval '20 minutes', 1200, false,
            jsonb_build_object('build_id', $2::text, 'project', 'big', 'nodes', $3::int, 'tests', 0)
     FROM pipeline p CROSS JOIN (SELECT now() - interval '30 minutes' AS s) t WHERE p.name = 'dbt:big:default'
     RETURNING id`,
    [`build:watcher/${BIG_BUILD}:run-1`, BIG_BUILD, nodes],
  );
  const rootId = root.rows[0]!.id;
  await pool.query('SELECT setseed(0.7)');
  await pool.query(
    `INSERT INTO pipeline_execution (parent_id, pipeline_id, execution_key, status, start_date, date_recorded, hour_recorded, end_date,
                                     duration_seconds, completed_successfully, total_rows, execution_metadata)
     SELECT $1, p.id, 'node:' || $2 || ':' || p.name, x.status::execution_status, x.s, (x.s AT TIME ZONE 'UTC')::date,
            extract(hour FROM x.s AT TIME ZONE 'UTC')::smallint, x.s + x.secs * interval '1 second', x.secs, x.status = 'success',
            CASE WHEN x.status = 'success' THEN 1000 END,
            jsonb_build_object('unique_id', p.name, 'resource_type', 'model', 'dbt_status', x.status, 'materialization', 'table',
                               'adapter_code', 'SELECT', 'thread', 'Thread-' || (x.i % 8 + 1), 'execution_time_seconds', round(x.secs::numeric, 3),
                               'attempt', 1, 'tests', '[]'::jsonb)
     FROM (SELECT row_number() OVER (ORDER BY id) AS i, id, name FROM pipeline WHERE name LIKE 'model.big.%') p
     CROSS JOIN LATERAL (
       SELECT p.i, now() - interval '30 minutes' + (p.i / 8) * interval '2.7 seconds' AS s, 0.3 + 2 * random() AS secs,
              CASE WHEN p.i % 500 = 0 THEN 'error' WHEN p.i % 97 = 0 THEN 'skipped' ELSE 'success' END AS status
     ) x`,
    [rootId, BIG_BUILD],
  );
  await pool.query(
    `INSERT INTO pipeline_execution_closure (parent_execution_id, child_execution_id, depth)
     SELECT id, id, 0 FROM pipeline_execution WHERE id = $1 OR parent_id = $1
     UNION ALL SELECT $1, id, 1 FROM pipeline_execution WHERE parent_id = $1`,
    [rootId],
  );
}

/**
 * Lineage of `relations` relations written by the seeded node pipelines (so each has runs):
 * 20 domains, each a DAG reading 1-3 earlier relations of its domain (the first five read raw
 * sources), 1 in 20 also one relation of an earlier domain; 30% of them with a freshness
 * threshold of a day, last written up to two days ago (fresh or stale).
 */
async function seedLineage(pool: Pool, relations: number): Promise<{ addresses: number }> {
  const pipelines = (await pool.query<{ name: string; type: string }>(
    `SELECT p.name, t.name AS type FROM pipeline p JOIN pipeline_type t ON t.id = p.pipeline_type_id WHERE p.name LIKE '%.bench.%' ORDER BY p.id LIMIT $1`,
    [relations],
  )).rows;
  if (pipelines.length < relations) throw new Error(`only ${pipelines.length} seeded pipelines for ${relations} relations`);
  const random = mulberry32(1000);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const relation = (i: number): AddressSpec => ({ name: `warehouse.analytics.${pipelines[i]!.name.split('.')[2]}`, type: 'relation', database: 'warehouse', schema: 'analytics', table: pipelines[i]!.name.split('.')[2] });
  const domains = 20;
  const perDomain = Math.ceil(relations / domains);
  const lineages: PipelineLineage[] = pipelines.map((p, i) => {
    const domain = Math.floor(i / perDomain);
    const j = i % perDomain;
    const sources: AddressSpec[] =
      j < 5
        ? Array.from({ length: 1 + Math.floor(random() * 2) }, () => {
            const k = Math.floor(random() * 3);
            return { name: `raw.source_${domain}.table_${k}`, type: 'source', database: 'raw', schema: `source_${domain}`, table: `table_${k}` };
          })
        : Array.from({ length: 1 + Math.floor(random() * 3) }, () => relation(domain * perDomain + Math.floor(random() * j)));
    if (domain > 0 && random() < 0.05) sources.push(relation(pick([...Array(domain * perDomain).keys()])));
    return { pipelineName: p.name, pipelineType: p.type, sources, targets: [relation(i)] };
  });
  await withTransaction(pool, (client) => syncLineage(client, lineages));
  await pool.query(
    `UPDATE pipeline SET freshness_number = 1, freshness_datepart = 'day', last_target_insert = now() - random() * interval '2 days'
     WHERE name = ANY($1::text[]) AND random() < 0.3`,
    [pipelines.map((p) => p.name)],
  );
  const count = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM address');
  return { addresses: count.rows[0]!.n };
}

interface PageSpec {
  name: 'builds' | 'build' | 'lineage';
  label: string;
  path: string;
  /** The request that carries the page's data (its time is reported apart). */
  data: RegExp;
}

interface Load {
  readyMs: number;
  dataMs: number;
  detail: string;
}

async function load(browser: Browser, server: RunningServer, spec: PageSpec): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}${spec.path}`, { waitUntil: 'commit' });
    await page.waitForSelector(`body[data-ready="${spec.name}"]`, { timeout: 120_000 });
    const timing = await page.evaluate((source) => {
      const mark = performance.getEntriesByName('watcher-ready')[0];
      const data = performance.getEntriesByType('resource').find((r) => new RegExp(source).test(r.name)) as unknown as { responseEnd: number; startTime: number } | undefined;
      const document = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null; querySelectorAll(s: string): { length: number } } }).document;
      const graph = document.querySelector('[data-testid="lineage-graph"]');
      const rows = document.querySelectorAll('[data-testid="nodes"] tbody tr, [data-testid="builds"] tbody tr').length;
      return {
        ready: mark ? mark.startTime : NaN,
        data: data ? data.responseEnd - data.startTime : NaN,
        detail: graph ? `${graph.getAttribute('data-nodes')} nodes, ${graph.getAttribute('data-edges')} edges, ${graph.getAttribute('data-layout')} layout` : `${rows} table rows`,
      };
    }, spec.data.source);
    return { readyMs: timing.ready, dataMs: timing.data, detail: timing.detail };
  } finally {
    await context.close();
  }
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  const store = await openBenchStore('dashboard', progress, {
    poolMax: 10,
    beforeClose: async () => {
      await browser?.close();
      await server?.close();
    },
  });
  try {
    progress(`seeding ${EXECUTIONS.toLocaleString()} executions`);
    await seedMetadata(store.pool, EXECUTIONS, progress);
    await nameSeededBuilds(store.pool);
    progress(`seeding a ${BUILD_NODES}-node build`);
    await seedBigBuild(store.pool, BUILD_NODES);
    progress(`seeding lineage of ${RELATIONS} relations`);
    const lineageStarted = performance.now();
    const { addresses } = await seedLineage(store.pool, RELATIONS);
    progress(`lineage stored in ${((performance.now() - lineageStarted) / 1000).toFixed(1)} s`);
    await store.pool.query('VACUUM ANALYZE');
    const seed = await describeSeed(store.pool).catch((err: unknown) => [`(seed description failed: ${String(err)})`]);
    const total = (await store.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pipeline_execution')).rows[0]!.n;

    const config = loadConfig({ temporalAddress: '127.0.0.1:1', databaseUrl: store.url, namespace: 'default', taskQueue: 'bench' });
    server = await startServer(config, { host: '127.0.0.1', port: 0, pool: store.pool, noAuth: true });
    if (args.serve) {
      out(`serving ${server.url}/ui/ (Ctrl-C stops)`);
      await new Promise(() => undefined);
    }
    browser = await launchChromium();
    const pages: PageSpec[] = [
      { name: 'builds', label: 'builds page (latest 100 builds)', path: '/ui/builds', data: /\/builds\?/ },
      { name: 'build', label: `one build of ${BUILD_NODES.toLocaleString()} nodes`, path: `/ui/builds/${BIG_BUILD}`, data: new RegExp(`/builds/${BIG_BUILD}$`) },
      { name: 'lineage', label: `lineage, ${RELATIONS.toLocaleString()} relations (whole graph)`, path: '/ui/lineage', data: /\/dashboard\/lineage\?/ },
    ];
    progress('warming up (the first request bundles the dashboard)');
    const details = new Map<string, string>();
    for (const spec of pages) details.set(spec.name, (await load(browser, server, spec)).detail);
    const bundle = await fetch(`${server.url}/ui/assets/app.js`).then((r) => r.text());

    const results = new Map<string, Load[]>(pages.map((p) => [p.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? pages : [...pages].reverse();
      for (const spec of order) {
        const l = await load(browser, server, spec);
        results.get(spec.name)!.push(l);
        progress(`round ${round + 1}/${ROUNDS} ${spec.name}: ready at ${l.readyMs.toFixed(0)} ms (data ${l.dataMs.toFixed(0)} ms)`);
      }
    }
    const loadAfter = os.loadavg();

    out(`# Dashboard render benchmark (${new Date().toISOString()})`);
    out(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; load average (1/5/15 min) before ${loadBefore.map((l) => l.toFixed(2)).join('/')}, after ${loadAfter.map((l) => l.toFixed(2)).join('/')}`);
    out(`browser: ${CHROMIUM} ${browser.version()} (headless), viewport 1440×900, fresh context per load; server in this process; ${await store.describe()}`);
    out(`store: ${total.toLocaleString()} executions; ${addresses.toLocaleString()} addresses; ${seed.join('; ')}`);
    out(`bundle: app.js ${(bundle.length / 1024).toFixed(0)} KiB minified`);
    out(`rounds: ${ROUNDS} (page order alternating), after one warm-up load each`);
    out();
    out('| page | what is on it | ready: median | min–max | data fetch: median | target | met |');
    out('|---|---|---|---|---|---|---|');
    for (const spec of pages) {
      const ready = summarize(results.get(spec.name)!.map((l) => l.readyMs));
      const data = summarize(results.get(spec.name)!.map((l) => l.dataMs));
      const target = TARGETS_MS[spec.name];
      out(`| ${spec.label} | ${details.get(spec.name)} | ${ready.median.toFixed(0)} ms | ${ready.min.toFixed(0)}–${ready.max.toFixed(0)} ms | ${data.median.toFixed(0)} ms | < ${target} ms | ${ready.median < target ? 'yes' : 'no'} |`);
    }
    progress(`saved ${report.save()}`);
  } finally {
    await store.close();
  }
}

await main();
