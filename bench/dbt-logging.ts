// What dbt's own logging costs a build: the same plain `dbt build` of a generated project with
// dbt's default logs (info text on stdout, debug text in dbt.log) and with the logs a watched
// build asks for, alternating, medians and paired ratios. No Temporal, no worker: dbt alone.
//
//   npx tsx bench/dbt-logging.ts [--models 185] [--threads 4] [--runs 3]
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dbtBinary } from '../src/toolchain.js';
import { generateProject } from './lib/generate-project.js';
import { startBenchStack } from './lib/stack.js';
import { quantile } from './stats.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: '185' },
    threads: { type: 'string', default: '4' },
    runs: { type: 'string', default: '3' },
  },
});

/** Each variant's logging flags; stdout is always read (as the worker reads it) and dropped. */
const VARIANTS: Record<string, string[]> = {
  'dbt defaults': [],
  'json debug, stdout and file': ['--log-format', 'json', '--log-level', 'debug', '--no-use-colors'],
  'json debug, file only': ['--log-format', 'json', '--log-level', 'none', '--log-level-file', 'debug', '--no-use-colors'],
  'json info, stdout and file': ['--log-format', 'json', '--log-level', 'info', '--no-use-colors'],
};

const workDir = path.join(os.tmpdir(), `watcher-dbt-logging-${process.pid}`);
mkdirSync(workDir, { recursive: true });
const project = generateProject(path.join(workDir, 'project'), { models: Number(args.models), testsPerModel: 2.5, seeds: 3, rows: 3000 });
const bench = await startBenchStack();

function build(schema: string, flags: string[]): Promise<number> {
  const t0 = performance.now();
  const dirs = path.join(workDir, schema);
  return new Promise((resolve, reject) => {
    const child = spawn(
      dbtBinary(),
      ['build', '--project-dir', project.dir, '--threads', args.threads, '--vars', JSON.stringify({ schema }), '--target-path', path.join(dirs, 'target'), '--log-path', path.join(dirs, 'logs'), ...flags],
      { env: bench.env, cwd: project.dir, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.stdout.resume();
    child.once('error', reject);
    child.once('exit', (code) => {
      rmSync(dirs, { recursive: true, force: true });
      if (code !== 0) return reject(new Error(`dbt exited ${code}`));
      resolve((performance.now() - t0) / 1000);
    });
  });
}

try {
  const names = Object.keys(VARIANTS);
  const walls = new Map<string, number[]>(names.map((n) => [n, []]));
  const ratios = new Map<string, number[]>(names.map((n) => [n, []]));
  await build('warm', []);
  for (let r = 0; r < Number(args.runs); r++) {
    // Alternate the order each run, so no variant always follows the same one.
    const order = r % 2 === 0 ? names : [...names].reverse();
    const thisRun = new Map<string, number>();
    for (const name of order) {
      const wall = await build(`r${r}_${names.indexOf(name)}`, VARIANTS[name]!);
      thisRun.set(name, wall);
      walls.get(name)!.push(wall);
    }
    for (const name of names) ratios.get(name)!.push(thisRun.get(name)! / thisRun.get(names[0]!)!);
    console.log(`run ${r}: ${names.map((n) => `${n} ${thisRun.get(n)!.toFixed(2)} s`).join('; ')}`);
  }
  console.log(`\n| logging (${args.models} models, ${args.threads} threads, ${args.runs} runs) | wall median (min-max), s | paired ratio to dbt defaults, median (min-max) |`);
  console.log('|---|---|---|');
  for (const name of names) {
    const w = walls.get(name)!;
    const q = ratios.get(name)!;
    console.log(`| ${name} | ${quantile(w, 0.5).toFixed(2)} (${Math.min(...w).toFixed(2)}-${Math.max(...w).toFixed(2)}) | ${quantile(q, 0.5).toFixed(3)} (${Math.min(...q).toFixed(3)}-${Math.max(...q).toFixed(3)}) |`);
  }
} finally {
  await bench.stop();
  rmSync(workDir, { recursive: true, force: true });
}
