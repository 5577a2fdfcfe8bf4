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
//   npm run bench -- [--sizes 10,100,185,500] [--runs 5] [--threads 4] [--scale-models 1000] [--scale-runs 2]
//                    [--per-node-sizes 10,100,185,500] [--no-per-node]
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { planBuild } from '../src/build/plan.js';
import { startBuild, waitForBuild } from '../src/client.js';
import type { NodeOutcome } from '../src/contracts/messages.js';
import { nodeWorkflowId } from '../src/contracts/names.js';
import type { Manifest } from '../src/dbt/artifacts.js';
import { installRuntime } from '../src/temporal/runtime.js';
import { dbtBinary, PROJECT_ROOT } from '../src/toolchain.js';
import { generateProject, type GeneratedProject } from './lib/generate-project.js';
import { processUsage, startBenchStack, startWorker, type BenchStack } from './lib/stack.js';
import { quantile, summarize, type Summary } from './stats.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,100,185,500' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: '4' },
    'scale-models': { type: 'string', default: '1000' },
    'scale-runs': { type: 'string', default: '2' },
    'no-per-node': { type: 'boolean', default: false },
    // (c) costs one dbt start-up per node: ~20 min per run at 500 models on 2 cores.
    'per-node-sizes': { type: 'string' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'BENCHMARKS.md') },
  },
});
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

/** (a) One plain `dbt build` of the project into a fresh schema. */
async function plainBuild(bench: BenchStack, project: GeneratedProject, schema: string, workDir: string): Promise<number> {
  return elapsed(async () => {
    const code = await run(
      DBT,
      ['build', '--project-dir', project.dir, '--threads', String(THREADS), '--vars', JSON.stringify({ schema }), '--target-path', path.join(workDir, schema, 'target'), '--log-path', path.join(workDir, schema, 'logs')],
      bench.env,
      project.dir,
    );
    if (code !== 0) throw new Error(`plain dbt build exited ${code}`);
  });
}

interface WatchedRun {
  seconds: number;
  lagsMs: number[];
  tailSeconds: number;
  cpuSeconds: number;
}

/** (b) One Watcher build: client start to result, lags and tail from the consumers' close times. */
async function watchedBuild(bench: BenchStack, project: GeneratedProject, schema: string, taskQueue: string, workerPid: number): Promise<WatchedRun> {
  const cpuBefore = processUsage(workerPid).cpuSeconds;
  const t0 = performance.now();
  const { buildId, handle } = await startBuild(
    bench.client,
    { projectDir: project.dir, buildId: schema.replace(/_/g, '-'), threads: THREADS, nodeRetries: 0, overlap: 'allow', vars: { schema } },
    { taskQueue },
  );
  const result = await waitForBuild(handle);
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = processUsage(workerPid).cpuSeconds - cpuBefore;
  if (!result.ok) throw new Error(`watched build failed: ${result.error}`);
  const lagsMs: number[] = [];
  let lastClose = 0;
  const nodes = result.progress!.nodes;
  for (let i = 0; i < nodes.length; i += 50) {
    await Promise.all(
      nodes.slice(i, i + 50).map(async (n) => {
        const h = bench.client.workflow.getHandle(nodeWorkflowId(buildId, n.uniqueId));
        const [outcome, d] = await Promise.all([h.result() as Promise<NodeOutcome>, h.describe()]);
        const closed = d.closeTime?.getTime() ?? 0;
        lastClose = Math.max(lastClose, closed);
        if (outcome.reportCompletedAtMs) lagsMs.push(closed - outcome.reportCompletedAtMs);
      }),
    );
  }
  const tailSeconds = (lastClose - (result.progress!.dbtExitedAtMs ?? lastClose)) / 1000;
  return { seconds, lagsMs, tailSeconds, cpuSeconds };
}

/** (c) One `dbt build --select <node>` per node, in dependency order, `THREADS` at a time. */
async function perNodeBuild(bench: BenchStack, project: GeneratedProject, manifest: Manifest, schema: string, workDir: string, parseCache: string): Promise<number> {
  const plan = planBuild(manifest, new Set(Object.keys(manifest.nodes)));
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

interface SizeResult {
  models: number;
  nodes: number;
  plain: Summary;
  watched: Summary;
  perNode?: Summary;
  lag: { p50: number; p99: number; max: number; n: number };
  tail: Summary;
  cpu: Summary;
  peakRssMiB: number;
}

async function benchmarkSize(bench: BenchStack, models: number, runs: number, perNode: boolean, workDir: string): Promise<SizeResult> {
  const project = generateProject(path.join(workDir, `project-${models}`), { models, testsPerModel: 2.5, seeds: 3, rows: 3000 });
  log(`${models} models: ${project.nodes} dbt nodes`);
  // A parse for the manifest (c) walks, and the partial-parse file its invocations start from.
  const parseDir = path.join(workDir, `parse-${models}`);
  await run(DBT, ['parse', '--project-dir', project.dir, '--vars', JSON.stringify({ schema: 'parse' }), '--target-path', parseDir, '--log-path', parseDir], bench.env, project.dir);
  const manifest = JSON.parse(readFileSync(path.join(parseDir, 'manifest.json'), 'utf8')) as Manifest;
  const parseCache = path.join(parseDir, 'partial_parse.msgpack');

  // A fresh worker per size: its peak memory is this size's.
  const taskQueue = `bench-${models}`;
  const worker = await startWorker(bench, taskQueue);
  const plain: number[] = [];
  const watched: WatchedRun[] = [];
  const perNodeTimes: number[] = [];
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
        const schema = `b${models}_${kind}_${r}`;
        if (kind === 'a') plain.push(await plainBuild(bench, project, schema, workDir));
        else if (kind === 'b') watched.push(await watchedBuild(bench, project, schema, taskQueue, worker.pid));
        else perNodeTimes.push(await perNodeBuild(bench, project, manifest, schema, workDir, parseCache));
      }
      log(`${models} models, run ${r + 1}/${runs}: a ${plain.at(-1)!.toFixed(1)} s, b ${watched.at(-1)!.seconds.toFixed(1)} s${perNode ? `, c ${perNodeTimes.at(-1)!.toFixed(1)} s` : ''}`);
    }
  } finally {
    // Read before the worker exits: /proc forgets it.
    peakRssMiB = processUsage(worker.pid).peakRssMiB;
    await worker.stop();
  }
  const lags = watched.flatMap((w) => w.lagsMs);
  return {
    models,
    nodes: project.nodes,
    plain: summarize(plain),
    watched: summarize(watched.map((w) => w.seconds)),
    perNode: perNode ? summarize(perNodeTimes) : undefined,
    lag: { p50: quantile(lags, 0.5), p99: quantile(lags, 0.99), max: Math.max(...lags), n: lags.length },
    tail: summarize(watched.map((w) => w.tailSeconds)),
    cpu: summarize(watched.map((w) => w.cpuSeconds)),
    peakRssMiB,
  };
}

function cell(s: Summary | undefined, digits = 1): string {
  if (!s) return '—';
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

function report(results: SizeResult[], scale: SizeResult | undefined, startedAt: Date, minutes: number): string {
  const lines = [
    '# Benchmarks',
    '',
    `Latest run: ${startedAt.toISOString()}, ${minutes.toFixed(0)} min, by \`npm run bench\` (bench/run.ts). Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; dbt-core 1.11.16 + dbt-postgres 1.11.0; Temporal CLI 1.9.1 dev server (SQLite file); embedded Postgres 17; everything on this one machine.`,
    '',
    '## Method',
    '',
    `- Projects: generated by bench/lib/generate-project.ts: N models in layers with fan-in (1–3 parents) and fan-out, 3 seeds, 2.5 data tests per model; first-layer models generate 3,000 rows each, later ones join their parents, so every model does real SQL work.`,
    `- (a) plain \`dbt build --threads ${THREADS}\`; (b) a Watcher build (\`dbtBuild\`, ${THREADS} threads, one \`watcher worker\` process, timed from the client's start to its result: resolve, consumers, the build, every consumer closed and the records written); (c) one \`dbt build --select <node>\` per model and seed, in dependency order, ${THREADS} at a time, each starting from a partial-parse file (as Cosmos and Dagster do); run at ${PER_NODE_SIZES.length ? PER_NODE_SIZES.join(', ') + ' models' : 'no size'} (— where not run).`,
    `- Each run builds into a fresh schema, so every run does the same full work. One warm-up of (a) and (b) per size is not counted. ${RUNS} repetitions per size, the order of (a), (b), (c) rotated each time. Figures: median (min–max).`,
    '- Lag: from the dbt log line that completed a node (its NodeFinished, or its last test\'s) to its consumer workflow closing, every consumer of every run pooled. Tail: from dbt\'s exit to the last consumer closed. Worker CPU: user+system seconds of the worker process per watched build (dbt\'s own processes excluded). Peak memory: the worker\'s VmHWM over all its builds of that size.',
    '',
    '## Results',
    '',
    '| models | dbt nodes | (a) plain dbt build, s | (b) Watcher, s | (c) per node, s | b/a | b − a, s | c/b | lag p50 / p99, ms | tail, s | worker CPU per build, s | worker peak RSS, MiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of [...results, ...(scale ? [scale] : [])]) {
    lines.push(
      `| ${r.models}${r === scale ? ' (scale)' : ''} | ${r.nodes} | ${cell(r.plain)} | ${cell(r.watched)} | ${cell(r.perNode)} | ${(r.watched.median / r.plain.median).toFixed(2)} | ${(r.watched.median - r.plain.median).toFixed(1)} | ${r.perNode ? (r.perNode.median / r.watched.median).toFixed(1) : '—'} | ${r.lag.p50.toFixed(0)} / ${r.lag.p99.toFixed(0)} | ${cell(r.tail, 2)} | ${cell(r.cpu)} | ${r.peakRssMiB.toFixed(0)} |`,
    );
  }
  const at185 = results.find((r) => r.models === 185);
  lines.push(
    '',
    '## Against the targets',
    '',
    ...results.map((r) => `- ${r.models} models: (b)/(a) ${(r.watched.median / r.plain.median).toFixed(2)} and b − a ${(r.watched.median - r.plain.median).toFixed(1)} s: ${r.watched.median <= 1.05 * r.plain.median + 3 ? 'meets' : 'misses'} "(b)/(a) ≤ 1.05 plus at most 3 s".`),
    at185?.perNode ? `- (c)/(b) at 185 models: ${(at185.perNode.median / at185.watched.median).toFixed(1)} (target ≥ 5).` : '- (c) was not run.',
    `- Consumer lag p99: ${results.map((r) => `${r.lag.p99.toFixed(0)} ms at ${r.models}`).join(', ')} (target ≤ 1,000 ms).`,
    at185 ? `- Tail at 185 models: ${at185.tail.median.toFixed(2)} s (target ≤ 2 s).` : '',
    scale ? `- At ${scale.nodes} nodes: tail ${scale.tail.median.toFixed(2)} s (target ≤ 10 s), worker peak ${scale.peakRssMiB.toFixed(0)} MiB (target ≤ 1,024 MiB), lag p99 ${scale.lag.p99.toFixed(0)} ms.` : '',
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
