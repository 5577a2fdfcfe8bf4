// The benchmark: for synthetic projects of 10, 100, 185 and 500 models, on the same machine in
// one run, alternating, N repetitions each:
//   (a) a plain `dbt build`;
//   (b) a Watcher build (dbtBuild on the embedded stack, a real `watcher worker` process);
//   (c) per-node execution: one `dbt build --select <node>` per node in dependency order, at the
//       same concurrency (what Cosmos's default mode does);
// plus the lag from each node's NodeFinished line to its consumer closing, the tail from dbt's
// exit to the last consumer closed, and the worker's CPU and peak memory. Then one large
// project (3,500+ nodes) with (a) and (b). Writes BENCHMARKS.md.
//
//   npm run bench -- [--sizes 10,100,185,500] [--runs 5] [--threads 4] [--scale-models 1000] [--scale-runs 3]
//                    [--per-node-sizes 10,100,185,500] [--no-per-node]
//   npm run bench -- --quick      10, 100 and 185 models, 3 runs, (c) at 10 only, no scale row (~15 min)
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { planBuild } from '../src/build/plan.js';
import { startBuild, waitForBuild } from '../src/client.js';
import type { Manifest } from '../src/dbt/artifacts.js';
import { installRuntime } from '../src/temporal/runtime.js';
import { dbtBinary, PROJECT_ROOT } from '../src/toolchain.js';
import { consumerTimes, eventMs } from './lib/build-history.js';
import { generateProject, type GeneratedProject } from './lib/generate-project.js';
import { devServerPid, processUsage, startBenchStack, startWorker, waitUntilIdle, type BenchStack } from './lib/stack.js';
import { quantile, summarize, type Summary } from './stats.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,100,185,500' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: '4' },
    'scale-models': { type: 'string', default: '1000' },
    'scale-runs': { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    'no-per-node': { type: 'boolean', default: false },
    // (c) costs one dbt start-up per node: ~20 min per run at 500 models on 2 cores.
    'per-node-sizes': { type: 'string' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'BENCHMARKS.md') },
  },
});
if (args.quick) {
  args.sizes = '10,100,185';
  args.runs = '3';
  args['scale-models'] = '0';
  args['per-node-sizes'] ??= '10';
}
const SIZES = args.sizes!.split(',').filter(Boolean).map(Number);
const RUNS = Number(args.runs);
const THREADS = Number(args.threads);
const SCALE_MODELS = Number(args['scale-models']);
const SCALE_RUNS = Number(args['scale-runs']);
const PER_NODE_SIZES = args['no-per-node'] ? [] : (args['per-node-sizes'] ?? args.sizes!).split(',').filter(Boolean).map(Number);
const DBT = dbtBinary();

installRuntime('ERROR');
const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env, cwd, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? -1));
  });
}

const elapsed = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
};

interface PlainRun {
  seconds: number;
  /** dbt's CPU (user + system), from this process's waited-for children. */
  dbtCpuSeconds: number;
}

/** (a) One plain `dbt build` of the project into a fresh schema. */
async function plainBuild(bench: BenchStack, project: GeneratedProject, schema: string, workDir: string): Promise<PlainRun> {
  const cpuBefore = processUsage(process.pid).childrenCpuSeconds;
  const seconds = await elapsed(async () => {
    const code = await run(
      DBT,
      ['build', '--project-dir', project.dir, '--threads', String(THREADS), '--vars', JSON.stringify({ schema }), '--target-path', path.join(workDir, schema, 'target'), '--log-path', path.join(workDir, schema, 'logs')],
      bench.env,
      project.dir,
    );
    if (code !== 0) throw new Error(`plain dbt build exited ${code}`);
  });
  return { seconds, dbtCpuSeconds: processUsage(process.pid).childrenCpuSeconds - cpuBefore };
}

interface WatchedRun {
  seconds: number;
  lagsMs: number[];
  tailSeconds: number;
  /** The worker's own CPU (dbt's processes excluded). */
  cpuSeconds: number;
  /** dbt's CPU inside the build (the dbt runner that parses, lists and builds, or separate `dbt ls` and `dbt build`: children of the worker). */
  dbtCpuSeconds: number;
  /** The Temporal dev server's CPU during the build. */
  serverCpuSeconds: number;
  /** resolveBuildGraph (dbt's start-up, parse and `dbt ls`), from scheduled to completed. */
  resolveSeconds: number;
  /** From the build activity's start to dbt's exit: dbt's own wall time inside the build. */
  dbtSeconds: number;
  /** From the build activity's start (dbt's start) to the last consumer started (visible in the UI). */
  visibleSeconds: number;
}

/** (b) One Watcher build: client start to result, lags and tail from the consumers' close times. */
async function watchedBuild(bench: BenchStack, project: GeneratedProject, schema: string, taskQueue: string, workerPid: number): Promise<WatchedRun> {
  const serverPid = devServerPid(bench);
  const cpuBefore = processUsage(workerPid);
  const serverBefore = processUsage(serverPid).cpuSeconds;
  const t0 = performance.now();
  const { buildId, handle } = await startBuild(
    bench.client,
    { projectDir: project.dir, buildId: schema.replace(/_/g, '-'), threads: THREADS, nodeRetries: 0, overlap: 'allow', vars: { schema } },
    { taskQueue },
  );
  const result = await waitForBuild(handle);
  const seconds = (performance.now() - t0) / 1000;
  const cpuAfter = processUsage(workerPid);
  const serverCpuSeconds = processUsage(serverPid).cpuSeconds - serverBefore;
  if (!result.ok) throw new Error(`watched build failed: ${result.error}`);
  // The build's phases, from its history: resolve, and when dbt's activity started.
  const scheduled = new Map<string, string>();
  const times: Record<string, { scheduled?: number; started?: number; completed?: number }> = {};
  for (const e of (await handle.fetchHistory()).events ?? []) {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) {
      scheduled.set(String(e.eventId), type);
      times[type] ??= { scheduled: eventMs(e) };
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) (times[scheduled.get(String(started.scheduledEventId))!] ??= {}).started ??= eventMs(e);
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed) (times[scheduled.get(String(completed.scheduledEventId))!] ??= {}).completed = eventMs(e);
  }
  const resolve = times.resolveBuildGraph ?? {};
  const dbtStartedAt = times.runBuild?.started ?? 0;
  const { startsMs, lastCloseMs: lastClose, lagsMs } = await consumerTimes(bench.client, buildId, result.progress!.nodes.map((n) => n.uniqueId));
  const exitedAt = result.progress!.dbtExitedAtMs ?? lastClose;
  return {
    seconds,
    lagsMs,
    tailSeconds: (lastClose - exitedAt) / 1000,
    cpuSeconds: cpuAfter.cpuSeconds - cpuBefore.cpuSeconds,
    dbtCpuSeconds: cpuAfter.childrenCpuSeconds - cpuBefore.childrenCpuSeconds,
    serverCpuSeconds,
    resolveSeconds: ((resolve.completed ?? 0) - (resolve.scheduled ?? 0)) / 1000,
    dbtSeconds: (exitedAt - dbtStartedAt) / 1000,
    visibleSeconds: (startsMs.at(-1)! - dbtStartedAt) / 1000,
  };
}

/**
 * (c) One `dbt build --select <node>` per node, in dependency order, `THREADS` at a time, each from
 * a partial-parse file made (untimed) with this run's own vars, so no invocation re-parses.
 */
async function perNodeBuild(bench: BenchStack, project: GeneratedProject, manifest: Manifest, schema: string, workDir: string): Promise<number> {
  const plan = planBuild(manifest, new Set(Object.keys(manifest.nodes)));
  const parseDir = path.join(workDir, schema, 'parse');
  const parsed = await run(DBT, ['parse', '--project-dir', project.dir, '--vars', JSON.stringify({ schema }), '--target-path', parseDir, '--log-path', parseDir], bench.env, project.dir);
  if (parsed !== 0) throw new Error(`dbt parse for (c) exited ${parsed}`);
  const parseCache = path.join(parseDir, 'partial_parse.msgpack');
  // Untimed too: the run's schema. The first nodes' invocations would each create it at once,
  // and Postgres fails all but one concurrent CREATE SCHEMA IF NOT EXISTS (a duplicate key).
  await createSchema(bench.env, schema);
  return elapsed(async () => {
    const done = new Set<string>();
    const running = new Set<Promise<void>>();
    const waiting = [...plan.nodes];
    while (waiting.length || running.size) {
      const ready = waiting.filter((n) => n.upstream.every((u) => done.has(u)));
      while (running.size < THREADS && ready.length) {
        const node = ready.shift()!;
        waiting.splice(waiting.indexOf(node), 1);
        const dir = path.join(workDir, schema, node.uniqueId);
        mkdirSync(path.join(dir, 'target'), { recursive: true });
        copyFileSync(parseCache, path.join(dir, 'target', 'partial_parse.msgpack')); // as Cosmos/Dagster do
        const p = run(
          DBT,
          ['build', '--project-dir', project.dir, '--select', node.selector, '--vars', JSON.stringify({ schema }), '--target-path', path.join(dir, 'target'), '--log-path', path.join(dir, 'logs')],
          bench.env,
          project.dir,
        ).then((code) => {
          if (code !== 0) throw new Error(`dbt build --select ${node.selector} exited ${code}`);
          done.add(node.uniqueId);
          running.delete(p);
        });
        running.add(p);
      }
      if (running.size) await Promise.race(running);
    }
  });
}

/** The schema in the project's database (the profile's SHOP_PG_* connection). */
async function createSchema(env: NodeJS.ProcessEnv, schema: string): Promise<void> {
  const client = new pg.Client({
    host: env.SHOP_PG_HOST ?? '127.0.0.1',
    port: Number(env.SHOP_PG_PORT ?? 5432),
    user: env.SHOP_PG_USER ?? 'postgres',
    password: env.SHOP_PG_PASSWORD ?? '',
    database: env.SHOP_PG_DATABASE ?? 'shop',
  });
  await client.connect();
  try {
    await client.query(`create schema if not exists ${client.escapeIdentifier(schema)}`);
  } finally {
    await client.end();
  }
}

interface SizeResult {
  models: number;
  nodes: number;
  plain: Summary;
  watched: Summary;
  perNode?: Summary;
  /** Each (b) against the (a) of its own repetition. */
  ratio: Summary;
  extra: Summary;
  lag: { p50: number; p99: number; max: number; n: number };
  tail: Summary;
  cpu: Summary;
  dbtCpuPlain: Summary;
  dbtCpuWatched: Summary;
  serverCpu: Summary;
  resolve: Summary;
  dbtWall: Summary;
  visible: Summary;
  barrier: Summary;
  peakRssMiB: number;
}

async function benchmarkSize(bench: BenchStack, models: number, runs: number, perNode: boolean, workDir: string): Promise<SizeResult> {
  const project = generateProject(path.join(workDir, `project-${models}`), { models, testsPerModel: 2.5, seeds: 3, rows: 3000 });
  log(`${models} models: ${project.nodes} dbt nodes`);
  // A parse for the manifest (c) walks.
  const parseDir = path.join(workDir, `parse-${models}`);
  await run(DBT, ['parse', '--project-dir', project.dir, '--vars', JSON.stringify({ schema: 'parse' }), '--target-path', parseDir, '--log-path', parseDir], bench.env, project.dir);
  const manifest = JSON.parse(readFileSync(path.join(parseDir, 'manifest.json'), 'utf8')) as Manifest;

  // A fresh worker per size: its peak memory is this size's.
  const taskQueue = `bench-${models}`;
  const worker = await startWorker(bench, taskQueue);
  const idle = () => waitUntilIdle([worker.pid, devServerPid(bench)]);
  const plain: PlainRun[] = [];
  const watched: WatchedRun[] = [];
  const pairs: Array<{ a: number; b: number }> = [];
  const perNodeTimes: number[] = [];
  const barriers: number[] = [];
  let peakRssMiB = 0;
  try {
    // Warm-up, not counted: first Postgres and dbt start-up costs.
    await plainBuild(bench, project, `w${models}_warm_a`, workDir);
    await watchedBuild(bench, project, `w${models}_warm_b`, taskQueue, worker.pid);
    const kinds = perNode ? (['a', 'b', 'c'] as const) : (['a', 'b'] as const);
    for (let r = 0; r < runs; r++) {
      // Rotate the order each repetition, so no kind always runs first or last.
      const order = kinds.map((_, i) => kinds[(i + r) % kinds.length]!);
      for (const kind of order) {
        barriers.push(await idle());
        const schema = `b${models}_${kind}_${r}`;
        if (kind === 'a') plain.push(await plainBuild(bench, project, schema, workDir));
        else if (kind === 'b') watched.push(await watchedBuild(bench, project, schema, taskQueue, worker.pid));
        else perNodeTimes.push(await perNodeBuild(bench, project, manifest, schema, workDir));
      }
      const a = plain.at(-1)!;
      const b = watched.at(-1)!;
      pairs.push({ a: a.seconds, b: b.seconds });
      log(
        `${models} models, run ${r + 1}/${runs}: a ${a.seconds.toFixed(1)} s, b ${b.seconds.toFixed(1)} s (resolve ${b.resolveSeconds.toFixed(1)}, dbt ${b.dbtSeconds.toFixed(1)}, visible +${b.visibleSeconds.toFixed(1)}, tail ${b.tailSeconds.toFixed(2)}, lag p99 ${quantile(b.lagsMs, 0.99).toFixed(0)} ms)${perNode ? `, c ${perNodeTimes.at(-1)!.toFixed(1)} s` : ''}`,
      );
    }
  } finally {
    // Read before the worker exits: /proc forgets it.
    peakRssMiB = processUsage(worker.pid).peakRssMiB;
    await worker.stop();
  }
  const lags = watched.flatMap((w) => w.lagsMs);
  const of = (f: (w: WatchedRun) => number) => summarize(watched.map(f));
  return {
    models,
    nodes: project.nodes,
    plain: summarize(plain.map((p) => p.seconds)),
    watched: of((w) => w.seconds),
    perNode: perNode ? summarize(perNodeTimes) : undefined,
    ratio: summarize(pairs.map((p) => p.b / p.a)),
    extra: summarize(pairs.map((p) => p.b - p.a)),
    lag: { p50: quantile(lags, 0.5), p99: quantile(lags, 0.99), max: Math.max(...lags), n: lags.length },
    tail: of((w) => w.tailSeconds),
    cpu: of((w) => w.cpuSeconds),
    dbtCpuPlain: summarize(plain.map((p) => p.dbtCpuSeconds)),
    dbtCpuWatched: of((w) => w.dbtCpuSeconds),
    serverCpu: of((w) => w.serverCpuSeconds),
    resolve: of((w) => w.resolveSeconds),
    dbtWall: of((w) => w.dbtSeconds),
    visible: of((w) => w.visibleSeconds),
    barrier: summarize(barriers),
    peakRssMiB,
  };
}

function cell(s: Summary | undefined, digits = 1): string {
  if (!s) return '—';
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)}%`;

function report(results: SizeResult[], scale: SizeResult | undefined, startedAt: Date, minutes: number): string {
  const all = [...results, ...(scale ? [scale] : [])];
  const name = (r: SizeResult) => `${r.models}${r === scale ? ' (scale)' : ''}`;
  const lines = [
    '# Benchmarks',
    '',
    `Latest run: ${startedAt.toISOString()}, ${minutes.toFixed(0)} min, by \`npm run bench${args.quick ? ' -- --quick' : ''}\` (bench/run.ts). Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; dbt-core 1.11.16 + dbt-postgres 1.11.0; Temporal CLI 1.9.1 dev server (SQLite file, WAL); embedded Postgres 17; everything on this one machine.`,
    '',
    '## Method',
    '',
    `- Projects: generated by bench/lib/generate-project.ts: N models in layers with fan-in (1–3 parents) and fan-out, 3 seeds, 2.5 data tests per model; first-layer models generate 3,000 rows each, later ones join their parents, so every model does real SQL work.`,
    `- (a) plain \`dbt build --threads ${THREADS}\`; (b) a Watcher build (\`dbtBuild\`, ${THREADS} threads, one \`watcher worker\` process, timed from the client's start to its result: resolve, consumers, the build, every consumer closed and the records written); (c) one \`dbt build --select <node>\` per model and seed, in dependency order, ${THREADS} at a time, each starting from a partial-parse file made (untimed) with the run's own vars, so no invocation parses the project again (as Cosmos and Dagster do); run at ${PER_NODE_SIZES.length ? PER_NODE_SIZES.join(', ') + ' models' : 'no size'} (— where not run).`,
    `- Each run builds into a fresh schema, so every run does the same full work (and each parses the project once: a fresh target path). One warm-up of (a) and (b) per size is not counted. ${RUNS} repetitions per size (${SCALE_RUNS} at the scale row), the order of (a), (b), (c) rotated each time. Before every run, a barrier waits until the dev server and the worker use under 5% of a core over 0.5 s. Figures: median (min–max); b/a and b − a are paired (each (b) against the (a) of its repetition).`,
    '- Lag: from the dbt log line that completed a node (its NodeFinished, or its last test\'s) to its consumer workflow closing, every consumer of every run pooled. Tail: from dbt\'s exit to the last consumer closed. Visible: from the build activity\'s start (dbt\'s start) to the last consumer workflow started. Resolve: the resolveBuildGraph activity (dbt\'s start-up, its parse and `dbt ls`, in the dbt runner that then runs the build\'s `dbt build` on the same manifest). dbt wall in (b): from the build activity\'s start to dbt\'s exit. CPU: user+system seconds per build from /proc: the worker process itself (dbt excluded), dbt (the worker\'s exited children: the dbt runner; in (a) the one `dbt build`), the Temporal dev server. Peak memory: the worker\'s VmHWM over all its builds of that size.',
    '',
    '## Results',
    '',
    '| models | dbt nodes | (a) plain, s | (b) Watcher, s | (c) per node, s | b/a (paired) | b − a, s (paired) | c/b | lag p50 / p99, ms | tail, s | visible after dbt start, s | worker peak RSS, MiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of all) {
    lines.push(
      `| ${name(r)} | ${r.nodes} | ${cell(r.plain)} | ${cell(r.watched)} | ${cell(r.perNode)} | ${cell(r.ratio, 2)} | ${cell(r.extra)} | ${r.perNode ? (r.perNode.median / r.watched.median).toFixed(1) : '—'} | ${r.lag.p50.toFixed(0)} / ${r.lag.p99.toFixed(0)} | ${cell(r.tail, 2)} | ${cell(r.visible)} | ${r.peakRssMiB.toFixed(0)} |`,
    );
  }
  lines.push(
    '',
    'Where (b)\'s time and CPU go:',
    '',
    '| models | resolve (start-up, parse, ls), s | dbt wall in (b), s | dbt wall (a), s | dbt CPU (a), s | dbt CPU in (b), s | worker CPU, s | dev server CPU, s | worker / dbt CPU | server / dbt CPU | barrier wait, s |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of all) {
    lines.push(
      `| ${name(r)} | ${cell(r.resolve)} | ${cell(r.dbtWall)} | ${cell(r.plain)} | ${cell(r.dbtCpuPlain)} | ${cell(r.dbtCpuWatched)} | ${cell(r.cpu)} | ${cell(r.serverCpu)} | ${pct(r.cpu.median, r.dbtCpuWatched.median)} | ${pct(r.serverCpu.median, r.dbtCpuWatched.median)} | ${cell(r.barrier)} |`,
    );
  }
  const at = (m: number) => results.find((r) => r.models === m);
  const meets = (ok: boolean) => (ok ? 'meets' : 'misses');
  const target = (r: SizeResult | undefined, text: (r: SizeResult) => string) => (r ? [text(r)] : []);
  lines.push(
    '',
    '## Against the targets (issue 13)',
    '',
    ...[185, 500].flatMap((m) => target(at(m), (r) => `- ${m} models: (b)/(a) ${r.ratio.median.toFixed(2)} (${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)}): ${meets(r.ratio.median <= 1.05)} ≤ 1.05.`)),
    ...target(at(10), (r) => `- 10 models: (b) − (a) ${r.extra.median.toFixed(1)} s: ${meets(r.extra.median <= 1.5)} ≤ 1.5 s.`),
    ...results.map((r) => `- Lag p99 at ${r.models} models: ${r.lag.p99.toFixed(0)} ms: ${meets(r.lag.p99 <= 500)} ≤ 500 ms.`),
    ...target(at(185), (r) => `- Tail at 185 models: ${r.tail.median.toFixed(2)} s: ${meets(r.tail.median <= 1)} ≤ 1 s.`),
    ...target(at(185), (r) => `- Every consumer visible at 185 models: dbt's start + ${r.visible.median.toFixed(1)} s (max ${r.visible.max.toFixed(1)}): ${meets(r.visible.max <= 2)} ≤ 2 s.`),
    ...target(at(185), (r) => `- CPU at 185 models: worker ${pct(r.cpu.median, r.dbtCpuWatched.median)}, dev server ${pct(r.serverCpu.median, r.dbtCpuWatched.median)} of dbt's: ${meets(r.cpu.median <= 0.2 * r.dbtCpuWatched.median)} / ${meets(r.serverCpu.median <= 0.2 * r.dbtCpuWatched.median)} ≤ 20%.`),
    ...target(at(185), (r) => (r.perNode ? `- (c)/(b) at 185 models: ${(r.perNode.median / r.watched.median).toFixed(1)}: ${meets(r.perNode.median >= 5 * r.watched.median)} ≥ 5.` : '- (c) was not run at 185 models.')),
    ...(scale
      ? [
          `- At ${scale.nodes} nodes: lag p99 ${scale.lag.p99.toFixed(0)} ms (≤ 2,000: ${meets(scale.lag.p99 <= 2000)}), tail ${scale.tail.median.toFixed(2)} s (≤ 5 s: ${meets(scale.tail.median <= 5)}), worker peak ${scale.peakRssMiB.toFixed(0)} MiB (≤ 600: ${meets(scale.peakRssMiB <= 600)}).`,
        ]
      : ['- The scale row was not run.']),
    '',
  );
  return lines.join('\n');
}

const startedAt = new Date();
const workDir = path.join(os.tmpdir(), `watcher-bench-projects-${process.pid}`);
mkdirSync(workDir, { recursive: true });
const bench = await startBenchStack();
try {
  const results: SizeResult[] = [];
  for (const models of SIZES) {
    results.push(await benchmarkSize(bench, models, RUNS, PER_NODE_SIZES.includes(models), workDir));
    // What is measured so far, in case a long run is cut short.
    writeFileSync(args.out!, report(results, undefined, startedAt, (Date.now() - startedAt.getTime()) / 60_000));
  }
  const scale = SCALE_MODELS > 0 ? await benchmarkSize(bench, SCALE_MODELS, SCALE_RUNS, false, workDir) : undefined;
  const text = report(results, scale, startedAt, (Date.now() - startedAt.getTime()) / 60_000);
  writeFileSync(args.out!, text);
  console.log(text);
} finally {
  await bench.stop();
}
