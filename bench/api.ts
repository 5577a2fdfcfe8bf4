// Benchmark of the HTTP API under concurrent load: etl-watcher's start+end execution pairs
// (what its SDK sends around every pipeline run) from this process, against `watcher serve`
// in a second process, over a fresh embedded Postgres on this machine.
//   npx tsx bench/api.ts [--seconds 10] [--rounds 3] [--concurrency 1,50,200] [--pipelines 1000] [--rate 1000]
//     [--pg-setting name=value ...] [--pg-stats] [--log-level warn|info] [--cpu-prof <dir>]
// Rounds alternate the concurrency order; reported: medians (min-max) over rounds of
// requests/s and of autocannon's p50/p99 latency, errors and non-2xx answers, and a check in
// Postgres that every answered start is exactly one row and every answered end ended it.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../src/devstack/ports.js';
import { createToken } from '../src/store/tokens.js';
import { PROJECT_ROOT } from '../src/toolchain.js';
import { CORES, cpuSplit, sampleCpu, type CpuSplit } from './lib/cpu-split.js';
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
    /** Extra Postgres settings for this run, e.g. --pg-setting commit_delay=100. */
    'pg-setting': { type: 'string', multiple: true, default: [] },
    /** pg_stat_statements and pg_stat_wal per run: time per statement, WAL records and flushes. */
    'pg-stats': { type: 'boolean', default: false },
    /** The server's log level: warn logs nothing per request; info (`watcher serve`'s default) logs each request. */
    'log-level': { type: 'string', default: 'warn' },
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
  cpu: CpuSplit;
}

/** Filled in once the server and Postgres run: whose CPU to count. */
const cpuPids: { server?: number; postmaster?: number } = {};

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
  const before = sampleCpu(cpuPids.server, cpuPids.postmaster);
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
  const cpu = cpuSplit(before, sampleCpu(cpuPids.server, cpuPids.postmaster));
  return {
    cpu,
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
  const child = spawn(process.execPath, [...profile, path.join(PROJECT_ROOT, 'bin', 'watcher.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--rate-limit', '1000000000', '--log-level', args['log-level']], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    // Its stdout (request logs at info) goes where a service's would: a file, here /dev/null.
    stdio: ['ignore', args['log-level'] === 'warn' ? 'inherit' : openSync('/dev/null', 'w'), 'pipe'],
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

const settings: Record<string, string> = Object.fromEntries(args['pg-setting'].map((s) => {
  const eq = s.indexOf('=');
  if (eq < 1) throw new Error(`--pg-setting ${s}: expected name=value`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}));
if (args['pg-stats']) Object.assign(settings, { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track_planning': 'on', track_wal_io_timing: 'on' });
const store = await openBenchStore('api', progress, { poolMax: 2, beforeClose: stopServer, settings });
try {
  const pool = store.pool;
  const databaseUrl = store.url;
  if (args['pg-stats']) await pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  const { token } = await createToken(pool, 'bench', 'write');
  const port = await freePort();
  server = await startServer(databaseUrl, port);
  cpuPids.server = server.pid;
  try {
    const dataDir = (await pool.query<{ d: string }>('SELECT current_setting(\'data_directory\') AS d')).rows[0]!.d;
    cpuPids.postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    // no CPU figure for Postgres
  }
  progress(await store.describe());

  /** Statement time and WAL of one run, per request (pg_stat_statements, pg_stat_wal). */
  const resetPgStats = async () => {
    if (!args['pg-stats']) return;
    await pool.query('SELECT pg_stat_statements_reset()');
    await pool.query("SELECT pg_stat_reset_shared('wal')");
  };
  const reportPgStats = async (requests: number) => {
    if (!args['pg-stats'] || requests === 0) return;
    const statements = await pool.query<{ query: string; calls: number; mean: number; total: number; plan: number; rows: number }>(
      `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS query, calls::int, mean_exec_time AS mean, total_exec_time AS total, mean_plan_time AS plan, rows::int
       FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat%' ORDER BY total_exec_time DESC LIMIT 4`,
    );
    for (const st of statements.rows) progress(`    pg: ${st.calls} calls, mean ${st.mean.toFixed(3)} ms (+ planning ${st.plan.toFixed(3)} ms), ${(st.total / requests).toFixed(3)} ms per request: ${st.query}`);
    const wal = (await pool.query<{ records: number; bytes: number; writes: number; syncs: number; sync_ms: number; write_ms: number }>(
      'SELECT wal_records::float8 AS records, wal_bytes::float8 AS bytes, wal_write::float8 AS writes, wal_sync::float8 AS syncs, wal_sync_time AS sync_ms, wal_write_time AS write_ms FROM pg_stat_wal',
    )).rows[0]!;
    progress(`    WAL per request: ${(wal.records / requests).toFixed(1)} records, ${(wal.bytes / requests).toFixed(0)} bytes; ${wal.syncs} flushes (${(requests / Math.max(1, wal.syncs)).toFixed(2)} requests per flush), ${(wal.sync_ms / Math.max(1, wal.syncs)).toFixed(3)} ms each`);
  };
  const cpuLine = (r: RunResult) => {
    const per = (share: number | undefined) => (share === undefined || r.rps === 0 ? '?' : ((share * 1000) / r.rps).toFixed(3));
    return `    CPU ms per request: load generator ${per(r.cpu.loadGenerator)}, server ${per(r.cpu.server)}, Postgres ${per(r.cpu.postgres)}, other processes ${per(r.cpu.other)}; idle ${r.cpu.idle === undefined ? '?' : r.cpu.idle.toFixed(2)} of ${CORES} cores`;
  };
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
      await resetPgStats();
      const r = await run(url, token, pipelineIds, c, clock);
      progress(`  ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors ${r.errors}, non-2xx ${r.non2xx}`);
      progress(cpuLine(r));
      await reportPgStats(r.requests);
      results.push(r);
    }
    progress(`round ${round + 1}/${ROUNDS}: 50 clients offering ${RATE} req/s for ${SECONDS} s`);
    await resetPgStats();
    const fixed = await run(url, token, pipelineIds, 50, clock, SECONDS, RATE);
    progress(`  ${fixed.rps.toFixed(0)} req/s, p50 ${fixed.p50} ms, p99 ${fixed.p99} ms, errors ${fixed.errors}, non-2xx ${fixed.non2xx}`);
    progress(cpuLine(fixed));
    await reportPgStats(fixed.requests);
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
  const perRequest = (of: RunResult[], part: (c: CpuSplit) => number | undefined) => {
    const xs = of.flatMap((r) => { const v = part(r.cpu); return v === undefined || r.rps === 0 ? [] : [(v * 1000) / r.rps]; });
    return xs.length ? range(xs, 3) : '?';
  };
  console.log(`\nCPU per request, ms (CPU time of each process over the run / requests answered), and the cores left idle (of ${CORES}):\n`);
  console.log('| concurrent clients | load generator (autocannon) | server (Node) | Postgres backends | other processes | idle cores |');
  console.log('|---|---|---|---|---|---|');
  const cpuRow = (label: string, of: RunResult[]) => console.log(`| ${label} | ${perRequest(of, (c) => c.loadGenerator)} | ${perRequest(of, (c) => c.server)} | ${perRequest(of, (c) => c.postgres)} | ${perRequest(of, (c) => c.other)} | ${of.every((r) => r.cpu.idle !== undefined) ? range(of.map((r) => r.cpu.idle!), 2) : '?'} |`);
  for (const c of LEVELS) cpuRow(String(c), results.filter((r) => r.concurrency === c));
  cpuRow(`50, offered ${RATE} req/s`, fixedRate);
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
