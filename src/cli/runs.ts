// `watcher runs ...`: Watcher's metadata from the command line (DATABASE_URL, or the dev stack's).
import Table from 'cli-table3';
import { Command, Option } from 'commander';
import { loadConfig } from '../config.js';
import { createPool, type Pool } from '../store/db.js';
import { integerArg, textArg } from './options.js';
import {
  ancestorsOf,
  buildExecution,
  childrenOf,
  currentWatermark,
  descendantsOf,
  downstreamAddresses,
  lastSuccessPerPipeline,
  recentExecutions,
  upstreamAddresses,
  type ExecutionRow,
} from '../store/queries.js';

function executionTable(rows: Array<ExecutionRow & { depth?: number }>): string {
  const table = new Table({
    head: ['id', 'parent', 'depth', 'pipeline', 'status', 'start', 'duration (s)', 'rows'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of rows) {
    table.push([r.id, r.parent_id ?? '', r.depth ?? '', r.pipeline, r.status, r.start_date.toISOString(), r.duration_seconds ?? '', r.total_rows ?? '']);
  }
  return table.toString();
}

async function withStore<T>(fn: (pool: Pool) => Promise<T>): Promise<T> {
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new Error('no metadata database: set DATABASE_URL, or start `watcher dev`');
  const pool = createPool(databaseUrl, { max: 1 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

function print(json: boolean, data: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(data, null, 2) : text());
}

const toId = (value: string) => {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`execution id must be a positive integer, got ${JSON.stringify(value)}`);
  return id;
};

export function runsCommand(): Command {
  const runs = new Command('runs').description("query Watcher's execution metadata").option('--json', 'print JSON');
  const json = () => runs.opts<{ json?: boolean }>().json === true;

  runs
    .command('build')
    .description("a build's root execution and its node executions")
    .argument('<buildId>', 'the build', textArg('<buildId>'))
    .action((buildId: string) =>
      withStore(async (pool) => {
        const root = await buildExecution(pool, buildId);
        if (!root) throw new Error(`no recorded build ${buildId}`);
        const rows = [root, ...(await descendantsOf(pool, root.id))];
        print(json(), rows, () => executionTable(rows));
      }),
    );
  runs
    .command('recent')
    .description('recent executions of a pipeline (a dbt unique_id, or a build pipeline)')
    .argument('<pipeline>', 'a dbt unique_id or a pipeline name', textArg('<pipeline>'))
    .addOption(new Option('-n, --limit <n>', 'how many (1 to 1000)').argParser(integerArg('--limit', { min: 1, max: 1000 })).default(20))
    .action((pipeline: string, opts: { limit: number }) =>
      withStore(async (pool) => {
        const rows = await recentExecutions(pool, pipeline, opts.limit);
        print(json(), rows, () => executionTable(rows));
      }),
    );
  for (const [name, fn, what] of [
    ['children', childrenOf, 'children (depth 1) of an execution'],
    ['descendants', descendantsOf, 'every execution below one (depth > 0)'],
    ['ancestors', ancestorsOf, 'every execution above one'],
  ] as const) {
    runs
      .command(name)
      .description(what)
      .argument('<executionId>')
      .action((id: string) => {
        const executionId = toId(id); // bad input is refused before anything connects
        return withStore(async (pool) => {
          const rows = await fn(pool, executionId);
          print(json(), rows, () => executionTable(rows));
        });
      });
  }
  runs
    .command('last-success')
    .description('the last successful execution of each pipeline (or of those named)')
    .argument('[pipelines...]')
    .action((pipelines: string[]) =>
      withStore(async (pool) => {
        const rows = await lastSuccessPerPipeline(pool, pipelines.length ? pipelines : undefined);
        print(json(), rows, () => rows.map((r) => `${r.pipeline}\t${r.execution_id}\t${r.end_date.toISOString()}`).join('\n'));
      }),
    );
  for (const [name, fn] of [
    ['upstream', upstreamAddresses],
    ['downstream', downstreamAddresses],
  ] as const) {
    runs
      .command(name)
      .description(`${name} addresses (relations, sources) of an address, with depth and path`)
      .argument('<address>', 'database.schema.table', textArg('<address>'))
      .action((address: string) =>
        withStore(async (pool) => {
          const rows = await fn(pool, address);
          print(json(), rows, () => rows.map((r) => `${r.depth}\t${r.address}\t${r.path.join(' -> ')}`).join('\n'));
        }),
      );
  }
  runs
    .command('watermark')
    .description("a pipeline's current watermark")
    .argument('<pipeline>', 'a dbt unique_id or a pipeline name', textArg('<pipeline>'))
    .action((pipeline: string) =>
      withStore(async (pool) => {
        const watermark = await currentWatermark(pool, pipeline);
        if (watermark === undefined) throw new Error(`no pipeline ${pipeline}`);
        print(json(), { pipeline, watermark }, () => String(watermark ?? '(none)'));
      }),
    );
  return runs;
}
