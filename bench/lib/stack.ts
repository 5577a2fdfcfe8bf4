// The benchmarks' stack: the embedded dev stack (Postgres, headless Temporal dev server) in a
// temp dir, a client, and real `watcher worker` processes whose CPU and memory can be measured.
import { Client, Connection } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/devstack/ports.js';
import { startDevStack, type DevStack } from '../../src/devstack/stack.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';

export interface BenchStack {
  home: string;
  stack: DevStack;
  client: Client;
  /** Environment for dbt and workers: the warehouse profile variables. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startBenchStack(): Promise<BenchStack> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'watcher-bench-'));
  const stack = await startDevStack({ home, temporalPort: await freePort(), uiPort: await freePort(), postgresPort: await freePort(), headless: true, log: () => undefined });
  const connection = await Connection.connect({ address: stack.file.temporalAddress });
  return {
    home,
    stack,
    client: new Client({ connection, namespace: stack.file.namespace }),
    env: { ...process.env, ...stack.file.dbtEnv },
    async stop() {
      await connection.close();
      await stack.stop();
      rmSync(home, { recursive: true, force: true });
      // Last: the runtime's forwarding of core logs kept a finished benchmark's process alive.
      await Runtime.instance().shutdown();
    },
  };
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

/** The real `watcher worker`, in its own process (its dbt children are processes of their own). */
export async function startWorker(bench: BenchStack, taskQueue: string, nodeArgs: string[] = []): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'bin/watcher.js'), 'worker'], {
    env: {
      ...bench.env,
      TEMPORAL_ADDRESS: bench.stack.file.temporalAddress,
      TEMPORAL_NAMESPACE: bench.stack.file.namespace,
      WATCHER_TASK_QUEUE: taskQueue,
      DATABASE_URL: bench.stack.file.databaseUrl,
      WATCHER_LOG_LEVEL: 'ERROR',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const deadline = Date.now() + 60_000;
  while (!stderr.includes('worker polling')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export interface ProcessUsage {
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
  /** User + system CPU seconds of its children that have exited and been waited for (dbt under a worker). */
  childrenCpuSeconds: number;
  /** Peak resident memory (VmHWM), MiB. */
  peakRssMiB: number;
}

/** CPU and peak memory of one process, from /proc (Linux). */
export function processUsage(pid: number): ProcessUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const childTicks = Number(fields[13]) + Number(fields[14]); // cutime + cstime
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, childrenCpuSeconds: childTicks / 100, peakRssMiB: hwm / 1024 };
}

/** The Temporal dev server's pid (the CLI execs into the server: one process). */
export function devServerPid(bench: BenchStack): number {
  return Number(readFileSync(path.join(bench.home, 'temporal.pid'), 'utf8').trim());
}

/**
 * A barrier between runs: returns once the given processes used under 5% of a core over half a
 * second (no queued server or worker work from one run spills into the next), or after 30 s.
 */
export async function waitUntilIdle(pids: number[], maxWaitMs = 30_000): Promise<number> {
  const cpu = () => pids.reduce((sum, pid) => sum + processUsage(pid).cpuSeconds, 0);
  const t0 = Date.now();
  for (;;) {
    const before = cpu();
    await new Promise((r) => setTimeout(r, 500));
    if (cpu() - before < 0.025 || Date.now() - t0 > maxWaitMs) return (Date.now() - t0) / 1000;
  }
}
