// Benchmark of the HTTP API under concurrent load: etl-watcher's start+end execution pairs
// (what its SDK sends around every pipeline run) from this process, against `watcher serve`
// in a second process, over a fresh embedded Postgres on this machine.
//   npx tsx bench/api.ts [--seconds 10] [--rounds 3] [--concurrency 1,50,200] [--pipelines 1000] [--rate 1000]
// Rounds alternate the concurrency order; reported: medians (min-max) over rounds of
// requests/s and of autocannon's p50/p99 latency, errors and non-2xx answers, and a check in
// Postgres that every answered start is exactly one row and every answered end ended it.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../src/devstack/ports.js';
import { createToken } from '../src/store/tokens.js';
import { PROJECT_ROOT } from '../src/toolchain.js';
import { openBenchStore } from './lib/metadata-seed.js';
import { summarize } from './stats.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    pipelines: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '1000' },
    'cpu-prof': { type: 'string' },
    concurrency: { type: 'string', default: '1,50,200' },
  },
});
const SECONDS = Number(args.seconds);
const ROUNDS = Math.max(1, Number(args.rounds));
const LEVELS = args.concurrency.split(',').map(Number);
const PIPELINES = Number(args.pipelines);
/** Offered load (requests/s) of the fixed-rate runs, where latency is service time, not queueing. */
const RATE = Number(args.rate);
const TARGET_P99_MS = 10;
const WARMUP_CONNECTIONS = 10;
const TARGET_RPS = 2000;

const started = performance.now();
const progress = (line: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`);

/** Every execution id a start answered with, to find each one in Postgres afterwards. */
const answeredIds: number[] = [];

interface RunResult {
  concurrency: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  non2xx: number;
  startsAnswered: number;
  endsAnswered: number;
}

/** What a connection carries from its start to its end. */
interface PairContext {
  id?: number;
  start?: number;
}

/** One run: each connection loops start -> end on its own pipeline execution. */
async function run(url: string, token: string, pipelineIds: number[], concurrency: number, clock: { next: number }, seconds = SECONDS, overallRate?: number): Promise<RunResult> {
  let startsAnswered = 0;
  let nextPipeline = 0;
  let endsAnswered = 0;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const result = await autocannon({
    url,
    connections: concurrency,
    duration: seconds,
    ...(overallRate ? { overallRate } : {}),
    headers,
    requests: [
      {
        method: 'POST',
        path: '/start_pipeline_execution',
        setupRequest: (request, ctx) => {
          const context = ctx as PairContext;
          // A distinct start_date per start: a repeated (pipeline, parent, start_date) is one execution by design.
          const start = new Date(clock.next++);
          context.start = start.getTime();
          // Pipelines in turn, as etl-watcher's load test runs ~1,000 pipelines (one row each to update at the end).
          const pipelineId = pipelineIds[nextPipeline++ % pipelineIds.length]!;
          return { ...request, body: JSON.stringify({ pipeline_id: pipelineId, start_date: start.toISOString() }) };
        },
        onResponse: (status, body, ctx) => {
          const context = ctx as PairContext;
          if (status === 201 || status === 200) {
            startsAnswered++;
            context.id = (JSON.parse(body) as { id: number }).id;
            answeredIds.push(context.id);
          }
        },
      },
      {
        method: 'POST',
        path: '/end_pipeline_execution',
        setupRequest: (request, ctx) => {
          const context = ctx as PairContext;
          if (context.id === undefined) return undefined as unknown as typeof request; // start failed: restart the pair
          const body = { id: context.id, end_date: new Date(context.start! + 1500).toISOString(), completed_successfully: true, inserts: 10, total_rows: 10 };
          context.id = undefined;
          return { ...request, body: JSON.stringify(body) };
        },
        onResponse: (status) => {
          if (status === 204) endsAnswered++;
        },
      },
    ],
  });
  return {
    concurrency,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    startsAnswered,
    endsAnswered,
  };
}

function startServer(databaseUrl: string, port: number): Promise<ChildProcess> {
  // --cpu-prof <dir>: a V8 CPU profile of the server, written when it exits.
  const profile = args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', args['cpu-prof']] : [];
  const child = spawn(process.execPath, [...profile, path.join(PROJECT_ROOT, 'bin', 'watcher.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--rate-limit', '1000000000', '--log-level', 'warn'], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the API server did not start within 60 s')), 60_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      process.stderr.write(text);
      if (/API on /.test(text)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the API server exited with code ${code}`));
    });
  });
}

let server: ChildProcess | undefined;

async function stopServer(): Promise<void> {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

const store = await openBenchStore('api', progress, { poolMax: 2, beforeClose: stopServer });
try {
  const pool = store.pool;
  const databaseUrl = store.url;
  const { token } = await createToken(pool, 'bench', 'write');
  const port = await freePort();
  server = await startServer(databaseUrl, port);
  const url = `http://127.0.0.1:${port}`;

  const pipelineIds: number[] = [];
  for (let i = 0; i < PIPELINES; i++) {
    const created = await fetch(`${url}/pipeline`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: `bench_pipeline_${i}`, pipeline_type_name: 'extract' }),
    });
    if (created.status !== 201) throw new Error(`POST /pipeline answered ${created.status}: ${await created.text()}`);
    pipelineIds.push(((await created.json()) as { id: number }).id);
  }

  const clock = { next: Date.now() - 7 * 24 * 3600_000 };
  progress('warm-up (3 s at 10 connections)');
  await run(url, token, pipelineIds, WARMUP_CONNECTIONS, clock, 3);

  const results: RunResult[] = [];
  const fixedRate: RunResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = LEVELS.map((_, i) => LEVELS[(i + round) % LEVELS.length]!);
    for (const c of order) {
      progress(`round ${round + 1}/${ROUNDS}: ${c} concurrent client(s) for ${SECONDS} s`);
      const r = await run(url, token, pipelineIds, c, clock);
      progress(`  ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors ${r.errors}, non-2xx ${r.non2xx}`);
      results.push(r);
    }
    progress(`round ${round + 1}/${ROUNDS}: 50 clients offering ${RATE} req/s for ${SECONDS} s`);
    const fixed = await run(url, token, pipelineIds, 50, clock, SECONDS, RATE);
    progress(`  ${fixed.rps.toFixed(0)} req/s, p50 ${fixed.p50} ms, p99 ${fixed.p99} ms, errors ${fixed.errors}, non-2xx ${fixed.non2xx}`);
    fixedRate.push(fixed);
  }

  // Nothing lost, nothing doubled: every answered start is one row (execution_key is unique, so
  // a repeated start cannot make two); rows beyond the answered ones are starts whose answer was
  // still in flight when a timed run ended (at most one per connection).
  const all = [...results, ...fixedRate];
  const found = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pipeline_execution WHERE id = ANY($1::bigint[])', [answeredIds]);
  const rows = await pool.query<{ n: number; keys: number }>('SELECT count(*)::int AS n, count(DISTINCT execution_key)::int AS keys FROM pipeline_execution');
  const answeredStarts = answeredIds.length;
  const answeredEnds = all.reduce((s, r) => s + r.endsAnswered, 0);
  const lost = answeredStarts - found.rows[0]!.n;
  const unanswered = rows.rows[0]!.n - answeredStarts;

  const cpus = os.cpus();
  console.log(`\n## HTTP API: start+end execution pairs (${new Date().toISOString().slice(0, 10)}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ${ROUNDS} rounds x ${SECONDS} s per level, order rotated)\n`);
  console.log('| concurrent clients | requests/s | p50 latency | p99 latency | errors | non-2xx |');
  console.log('|---|---|---|---|---|---|');
  const range = (xs: number[], digits = 0) => {
    const s = summarize(xs);
    return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;
  };
  for (const c of LEVELS) {
    const of = results.filter((r) => r.concurrency === c);
    console.log(`| ${c} | ${range(of.map((r) => r.rps))} | ${range(of.map((r) => r.p50))} ms | ${range(of.map((r) => r.p99))} ms | ${of.reduce((s, r) => s + r.errors, 0)} | ${of.reduce((s, r) => s + r.non2xx, 0)} |`);
  }
  console.log(`| 50, offered ${RATE} req/s | ${range(fixedRate.map((r) => r.rps))} | ${range(fixedRate.map((r) => r.p50))} ms | ${range(fixedRate.map((r) => r.p99))} ms | ${fixedRate.reduce((s, r) => s + r.errors, 0)} | ${fixedRate.reduce((s, r) => s + r.non2xx, 0)} |`);
  console.log(`\n${PIPELINES} pipelines in turn. Rows: ${answeredStarts} answered starts, ${found.rows[0]!.n} of them found in Postgres (${lost} lost); ${answeredEnds} answered ends; ${rows.rows[0]!.n} rows with ${rows.rows[0]!.keys} distinct keys; ${unanswered} rows from starts unanswered when a run's time was up (at most the open connections).`);
  const at50 = results.filter((r) => r.concurrency === 50);
  if (at50.length) {
    const rps = summarize(at50.map((r) => r.rps)).median;
    const p99 = summarize(fixedRate.map((r) => r.p99)).median;
    console.log(`Targets: >= ${TARGET_RPS} req/s at 50 clients: ${rps.toFixed(0)} (${rps >= TARGET_RPS ? 'MET' : 'NOT MET'}); p99 <= ${TARGET_P99_MS} ms at 50 clients offering ${RATE} req/s: ${p99} ms (${p99 <= TARGET_P99_MS ? 'MET' : 'NOT MET'}).`);
    console.log('(A closed loop of 50 clients has mean latency = 50 / throughput: p99 <= 10 ms there would need > 5,000 req/s, so latency is also measured at a fixed offered rate.)');
  }
  if (lost !== 0 || rows.rows[0]!.keys !== rows.rows[0]!.n || unanswered < 0 || unanswered > all.reduce((s, r) => s + r.concurrency, WARMUP_CONNECTIONS)) {
    console.log('LOST OR DUPLICATED ROWS: see the counts above.');
    process.exitCode = 1;
  }
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await store.close();
}
