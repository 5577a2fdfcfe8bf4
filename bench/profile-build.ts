// Where a watched build's time goes: one plain `dbt build` and one Watcher build of the same
// generated project, then the Watcher build's phases from its workflow histories (resolve, the
// consumers' starts, dbt, the tail) and each consumer's lag. A profile, not a benchmark: run
// bench/run.ts for medians.
//
//   npx tsx bench/profile-build.ts [--models 185] [--threads 4] [--pairs 1] [--group-size N] [--cpu-prof DIR] [--perf-server FILE]
//
// --cpu-prof: read with bench/cpu-profile-summary.ts; --perf-server: with bench/go-perf-summary.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startBuild, waitForBuild } from '../src/client.js';
import { buildWorkflowId } from '../src/contracts/names.js';
import { installRuntime } from '../src/temporal/runtime.js';
import { dbtBinary } from '../src/toolchain.js';
import { consumerTimes, eventMs } from './lib/build-history.js';
import { generateProject } from './lib/generate-project.js';
import { CpuSampler, type PhaseCpu } from './lib/cpu-sampler.js';
import { devServerPid, processUsage, startBenchStack, startWorker } from './lib/stack.js';
import { quantile } from './stats.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: '185' },
    threads: { type: 'string', default: '4' },
    pairs: { type: 'string', default: '1' },
    // Consumers per node group (the build input's groupSize; its default when not given).
    'group-size': { type: 'string' },
    // A V8 CPU profile of the worker (every thread), written to this dir when the worker exits.
    'cpu-prof': { type: 'string' },
    // `perf record -g` of the Temporal dev server over the paired builds (needs perf), to FILE.
    'perf-server': { type: 'string' },
  },
});
const MODELS = Number(args.models);
const THREADS = Number(args.threads);
installRuntime('ERROR');

const workDir = path.join(os.tmpdir(), `watcher-profile-${process.pid}`);
mkdirSync(workDir, { recursive: true });
const project = generateProject(path.join(workDir, 'project'), { models: MODELS, testsPerModel: 2.5, seeds: 3, rows: 3000 });
const bench = await startBenchStack();
// A worker that cannot start leaves no stack running.
const worker = await startWorker(bench, 'profile', args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`] : []).catch(async (err: unknown) => {
  await bench.stop();
  throw err;
});
const s = (ms: number) => (ms / 1000).toFixed(2);
// The machine's CPU, the worker's and the dev server's, for every phase below.
const cpu = new CpuSampler([worker.pid, devServerPid(bench)]);

function phaseLine(name: string, p: PhaseCpu): string {
  const [w, server] = p.processSeconds as [number, number];
  const rest = p.busySeconds - w - server;
  return `  cpu ${name.padEnd(22)} wall ${p.wallSeconds.toFixed(2)} s, busy ${p.busySeconds.toFixed(1)} core-s (${(p.utilization * 100).toFixed(0)}% of the cores): worker ${w.toFixed(1)}, dev server ${server.toFixed(1)}, dbt+Postgres+rest ${rest.toFixed(1)}`;
}

/** A dbt log line's time of day (dbt writes local time) as epoch ms: the one nearest `nearMs` (a run may cross midnight). */
function logLineMs(line: string, nearMs: number): number {
  const m = /(\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  if (!m) throw new Error(`no time in dbt log line: ${line}`);
  const d = new Date(nearMs);
  d.setHours(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]));
  const DAY = 86_400_000;
  const at = d.getTime();
  return [at - DAY, at, at + DAY].reduce((best, t) => (Math.abs(t - nearMs) < Math.abs(best - nearMs) ? t : best));
}

/** Plain dbt's phases from its own log: start-up and parse, then the nodes, then the end. */
function plainPhases(schema: string, startMs: number, endMs: number): void {
  const log = readFileSync(path.join(workDir, schema, 'logs', 'dbt.log'), 'utf8').split('\n');
  const nodesFrom = logLineMs(log.find((l) => l.includes('Concurrency:')) ?? '', startMs);
  const nodesTo = logLineMs(log.find((l) => /Finished running \d/.test(l)) ?? '', endMs);
  console.log(phaseLine('start-up and parse', cpu.between(startMs, nodesFrom)));
  console.log(phaseLine('nodes', cpu.between(nodesFrom, nodesTo)));
  console.log(phaseLine('whole', cpu.between(startMs, endMs)));
}

function plain(schema: string): Promise<number> {
  const t0 = performance.now();
  const startMs = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      dbtBinary(),
      ['build', '--project-dir', project.dir, '--threads', String(THREADS), '--vars', JSON.stringify({ schema }), '--target-path', path.join(workDir, schema, 'target'), '--log-path', path.join(workDir, schema, 'logs')],
      { env: bench.env, cwd: project.dir, stdio: 'ignore' },
    );
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`dbt exited ${code}`));
      resolve((performance.now() - t0) / 1000);
      plainPhases(schema, startMs, Date.now());
    });
  });
}

async function watched(schema: string): Promise<void> {
  const workerCpu0 = processUsage(worker.pid).cpuSeconds;
  const t0 = Date.now();
  const buildId = schema.replace(/_/g, '-');
  const { handle } = await startBuild(bench.client, { projectDir: project.dir, buildId, threads: THREADS, nodeRetries: 0, overlap: 'allow', vars: { schema }, ...(args['group-size'] ? { groupSize: Number(args['group-size']) } : {}) }, { taskQueue: 'profile' });
  const result = await waitForBuild(handle);
  const t1 = Date.now();
  if (!result.ok) throw new Error(result.error);
  const workerCpu = processUsage(worker.pid).cpuSeconds - workerCpu0;
  // The build's own phases, from its history.
  const marks: Array<[string, number]> = [];
  const history = await bench.client.workflow.getHandle(buildWorkflowId(buildId)).fetchHistory();
  for (const e of history.events ?? []) {
    const at = eventMs(e);
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) marks.push([`${type} scheduled`, at]);
    if (e.activityTaskStartedEventAttributes) marks.push(['activity started', at]);
    if (e.activityTaskCompletedEventAttributes) marks.push(['activity completed', at]);
    if (e.childWorkflowExecutionStartedEventAttributes) marks.push([`child started ${e.childWorkflowExecutionStartedEventAttributes.workflowType?.name}`, at]);
  }
  const { startsMs: starts, lastCloseMs: lastClose, lagsMs: lags } = await consumerTimes(bench.client, buildId, result.progress!.nodes.map((n) => n.uniqueId));
  const exited = result.progress!.dbtExitedAtMs ?? 0;
  console.log(`watched build ${buildId}: ${s(t1 - t0)} s, worker CPU ${workerCpu.toFixed(1)} s`);
  for (const [what, at] of marks) console.log(`  +${s(at - t0)} ${what}`);
  console.log(`  consumers started: first +${s(starts[0]! - t0)}, 50% +${s(quantile(starts, 0.5) - t0)}, last +${s(starts.at(-1)! - t0)} (${starts.length})`);
  console.log(`  dbt exited +${s(exited - t0)}; last consumer closed +${s(lastClose - t0)}; result +${s(t1 - t0)}`);
  const resolved = marks.find(([what]) => what === 'activity completed')?.[1] ?? t0;
  const dbtCalled = marks.find(([what]) => what === 'runBuild scheduled')?.[1] ?? resolved;
  console.log(phaseLine('resolve', cpu.between(t0, resolved)));
  console.log(phaseLine('consumer starts', cpu.between(resolved, dbtCalled)));
  console.log(phaseLine('runBuild to dbt exit', cpu.between(dbtCalled, exited)));
  console.log(phaseLine('tail', cpu.between(exited, t1)));
  console.log(phaseLine('whole', cpu.between(t0, t1)));
  console.log(`  lag p50 ${quantile(lags, 0.5).toFixed(0)} ms, p99 ${quantile(lags, 0.99).toFixed(0)} ms, max ${Math.max(...lags).toFixed(0)} ms`);
}

/** `perf record` of the dev server, stopped (SIGINT: perf writes its file) by the returned function. */
function recordServer(file: string): () => Promise<void> {
  const pid = devServerPid(bench);
  const binary = readlinkSync(`/proc/${pid}/exe`); // the temporal binary, whose symbols name the frames
  let spawnError: Error | undefined;
  const perf: ChildProcess = spawn('perf', ['record', '-F', '250', '-g', '-p', String(pid), '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  perf.stderr!.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<void>((resolve) => {
    perf.once('exit', () => resolve());
    perf.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  return async () => {
    if (perf.exitCode === null && perf.pid !== undefined) perf.kill('SIGINT');
    const killer = setTimeout(() => perf.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
    // perf ends on the SIGINT it was sent, having written its file.
    if (spawnError) console.error(`perf could not run (${spawnError.message}): no server profile; install perf (Debian: linux-perf)`);
    else if (perf.exitCode !== 0 && perf.signalCode !== 'SIGINT') console.error(`perf record ended with ${perf.exitCode ?? perf.signalCode}: ${stderr.slice(-500)}`);
    else console.log(`server profile: ${file}; read it with: npx tsx bench/go-perf-summary.ts ${file} ${binary}`);
  };
}

let stopServerRecording: (() => Promise<void>) | undefined;
try {
  await plain(`warm_a`);
  await watched(`warm_b`);
  if (args['perf-server']) stopServerRecording = recordServer(path.resolve(args['perf-server']));
  for (let r = 0; r < Number(args.pairs); r++) {
    console.log(`plain dbt build: ${(await plain(`p_a_${r}`)).toFixed(2)} s`);
    await watched(`p_b_${r}`);
  }
  await stopServerRecording?.();
  stopServerRecording = undefined;
  console.log(`worker peak RSS ${processUsage(worker.pid).peakRssMiB.toFixed(0)} MiB`);
} finally {
  await stopServerRecording?.();
  cpu.stop();
  await worker.stop();
  await bench.stop();
  if (args['cpu-prof']) console.log(`worker profiles in ${args['cpu-prof']}; read them with: npx tsx bench/cpu-profile-summary.ts ${args['cpu-prof']}`);
}
