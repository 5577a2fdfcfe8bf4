// Helpers for the fault suite: workers in child processes, dbt process lookups, and waits on
// a build's progress, all bounded.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { progressQuery, type BuildProgress } from '../../../src/contracts/messages.js';
import { buildWorkflowId } from '../../../src/contracts/names.js';
import { buildWorkDir } from '../../../src/dbt/invocation.js';
import { liveRecordedDbt } from '../../../src/dbt/process.js';
import { PROJECT_ROOT } from '../../../src/toolchain.js';
import { stack } from '../../support/stack.js';

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export async function startWorkerProcess(taskQueue: string, extraEnv: Record<string, string | undefined> = {}): Promise<WorkerProcess> {
  const s = stack();
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'test/faults/support/worker-process.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      WATCHER_TEST_ADDRESS: s.temporalAddress,
      WATCHER_TEST_TASK_QUEUE: taskQueue,
      WATCHER_TEST_BUNDLE: s.bundlePath,
      WATCHER_TEST_DBT_ENV: JSON.stringify(s.dbtEnv),
      DATABASE_URL: s.databaseUrl,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  await waitUntil('the worker process to start', () => output.includes('worker ready') || child.exitCode !== null, 60_000);
  if (child.exitCode !== null) throw new Error(`worker process exited: ${output}`);
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * dbt processes of one build (their command lines carry the build's private paths); with
 * `invocation`, only those of one kind: `build-` is the build's own dbt, which writes the
 * target (the `dbt ls` that resolves the graph, under `resolve`, runs before the lock).
 */
/**
 * The live dbt of a build's `dbt build` invocations (build-1, build-2, ...), by the dbt.pid
 * record runBuild writes beside each: a dbt runner's command line names its build, not the
 * invocation it runs.
 */
export function dbtBuildProcessesOf(projectDir: string, buildId: string): number[] {
  const workDir = buildWorkDir(projectDir, buildId);
  let invocations: string[];
  try {
    invocations = readdirSync(workDir).filter((name) => name.startsWith('build-'));
  } catch {
    return []; // no build dir yet
  }
  return invocations.map((name) => liveRecordedDbt(path.join(workDir, name))).filter((pid): pid is number => pid !== undefined);
}

export function dbtProcessesOf(buildId: string, invocation = ''): number[] {
  try {
    return execFileSync('pgrep', ['-f', `target/watcher/${buildId}/${invocation}`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

export async function progressOf(client: Client, buildId: string): Promise<BuildProgress | undefined> {
  return client.workflow.getHandle(buildWorkflowId(buildId)).query(progressQuery).catch(() => undefined);
}

/**
 * Count the `nodeReport` signals a consumer received, in all its runs: from the latest run
 * back along each run's `continuedExecutionRunId` (a retry or a continue-as-new), so a report
 * that reached a run before it was retried is counted too.
 */
export async function reportSignalsOf(client: Client, workflowId: string): Promise<number> {
  let count = 0;
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runId = undefined;
    for (const event of history.events ?? []) {
      if (event.workflowExecutionSignaledEventAttributes?.signalName === 'nodeReport') count++;
      const previous = event.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
      if (previous) runId = previous;
    }
  }
  return count;
}
