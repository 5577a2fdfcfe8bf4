// Benchmark on examples/shop: a watched build (dbtBuild on the embedded stack) against a plain
// `dbt build` of the same project, alternating, plus the lag from each node's completing
// NodeFinished line to its consumer closing.
//   npx tsx bench/shop.ts [--runs 5] [--threads 4]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startBuild, waitForBuild } from '../src/client.js';
import type { NodeOutcome } from '../src/contracts/messages.js';
import { nodeWorkflowId } from '../src/contracts/names.js';
import { installRuntime } from '../src/temporal/runtime.js';
import { ensureToolchain, PROJECT_ROOT } from '../src/toolchain.js';
import { startInProcessBench } from './lib/in-process.js';
import { fmt, summarize } from './stats.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, threads: { type: 'string', default: '4' } } });
const RUNS = Number(args.runs);
const THREADS = Number(args.threads);
const PROJECT = path.join(PROJECT_ROOT, 'examples', 'shop');

installRuntime('ERROR');
const tools = ensureToolchain();
const bench = await startInProcessBench();
const { home, stack, dbtEnv, client } = bench;

function plainDbtBuild(schema: string): Promise<number> {
  const dir = path.join(home, schema);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      tools.dbt,
      ['build', '--project-dir', PROJECT, '--threads', String(THREADS), '--vars', JSON.stringify({ schema }), '--target-path', path.join(dir, 'target'), '--log-path', path.join(dir, 'logs')],
      { cwd: PROJECT, env: dbtEnv, stdio: 'ignore' },
    );
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`dbt build exited ${code}`))));
  });
}

async function watchedBuild(schema: string): Promise<{ ms: number; lags: number[] }> {
  const started = performance.now();
  const { buildId, handle } = await startBuild(client, { projectDir: PROJECT, threads: THREADS, vars: { schema }, buildId: schema.replace(/_/g, '-') }, { taskQueue: stack.file.taskQueue });
  const result = await waitForBuild(handle);
  const ms = performance.now() - started;
  if (!result.ok) throw new Error(`watched build failed: ${result.error}`);
  const lags: number[] = [];
  for (const node of result.progress!.nodes) {
    const h = client.workflow.getHandle(nodeWorkflowId(buildId, node.uniqueId));
    const [outcome, description] = await Promise.all([h.result() as Promise<NodeOutcome>, h.describe()]);
    if (outcome.reportCompletedAtMs && description.closeTime) lags.push(description.closeTime.getTime() - outcome.reportCompletedAtMs);
  }
  return { ms, lags };
}

const plain: number[] = [];
const watched: number[] = [];
const lags: number[] = [];
try {
  // Warm-up (not counted): first Postgres/dbt start-up costs.
  await plainDbtBuild('bench_warm_plain');
  await watchedBuild('bench_warm_watched');
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 === 0 ? (['plain', 'watched'] as const) : (['watched', 'plain'] as const);
    for (const kind of order) {
      if (kind === 'plain') plain.push(await plainDbtBuild(`bench_plain_${i}`));
      else {
        const w = await watchedBuild(`bench_watched_${i}`);
        watched.push(w.ms);
        lags.push(...w.lags);
      }
    }
    console.error(`run ${i + 1}/${RUNS}: plain ${(plain.at(-1)! / 1000).toFixed(2)} s, watched ${(watched.at(-1)! / 1000).toFixed(2)} s`);
  }
  const p = summarize(plain.map((v) => v / 1000));
  const w = summarize(watched.map((v) => v / 1000));
  const l = summarize(lags);
  console.log(`examples/shop, ${THREADS} threads, ${RUNS} alternating runs each (dbt ${tools.dbt})`);
  console.log(`plain dbt build:   ${fmt(p, 's')}`);
  console.log(`watched build:     ${fmt(w, 's')}`);
  console.log(`ratio of medians:  ${(w.median / p.median).toFixed(3)}  (difference ${(w.median - p.median).toFixed(2)} s)`);
  console.log(`consumer lag (NodeFinished line -> consumer closed), ${l.n} nodes: p50 ${l.median.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms, max ${l.max.toFixed(0)} ms`);
} finally {
  await bench.stop();
}
