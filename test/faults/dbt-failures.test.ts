// Fault: dbt cannot run, or dies. Each ends the build at once with a non-retryable error that
// names the problem (quoting dbt where dbt spoke), every consumer ends, nothing is left running.
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild } from '../../src/client.js';
import type { BuildInputRaw } from '../../src/contracts/build-input.js';
import type { BuildProgress } from '../../src/contracts/messages.js';
import { nodeWorkflowId } from '../../src/contracts/names.js';
import { buildProgressOfFailure } from '../../src/contracts/status.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { buildExecution, childrenOf } from '../../src/store/queries.js';
import { connectTestClient, consumerEnd, copyShopProject, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';
import { dbtProcessesOf, progressOf, startWorkerProcess, waitUntil, type WorkerProcess } from './support/faults.js';

let client: Client;
let close: () => Promise<void>;
let pool: Pool;
const cleanup: Array<() => Promise<void> | void> = [];
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
  pool = createPool(stack().databaseUrl);
});
afterAll(async () => {
  for (const c of cleanup) await c();
  await pool.end();
  await close();
});

interface Failure {
  type?: string;
  message: string;
  nonRetryable?: boolean;
  progress?: BuildProgress;
}

async function failureOf(handle: WorkflowHandle): Promise<Failure> {
  try {
    await handle.result();
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
      return { type: err.cause.type ?? undefined, message: err.cause.message, nonRetryable: err.cause.nonRetryable ?? undefined, progress: buildProgressOfFailure(err.cause) };
    }
    if (err instanceof WorkflowFailedError) {
      let cause: Error | undefined = err.cause;
      while (cause?.cause instanceof Error) cause = cause.cause;
      return { type: cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined, message: cause?.message ?? err.message };
    }
    throw err;
  }
  throw new Error('the build succeeded');
}

async function buildOn(input: Partial<BuildInputRaw>, taskQueue = stack().taskQueue) {
  const buildId = uniqueName('fail').replace(/_/g, '-');
  const { handle } = await startBuild(client, { projectDir: SHOP_PROJECT, buildId, nodeRetries: 0, ...input, vars: { schema: uniqueName('t'), ...input.vars } }, { taskQueue });
  return { buildId, handle };
}

/** The resolve step's own activity attempts: a non-retryable failure is tried once. */
async function activityAttempts(handle: WorkflowHandle, type: string): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type).length;
}

describe('dbt cannot start', () => {
  it('a parse error fails the build, quoting dbt', async () => {
    const projectDir = copyShopProject();
    cleanup.push(() => rmSync(projectDir, { recursive: true, force: true }));
    writeFileSync(path.join(projectDir, 'models', 'staging', 'broken.sql'), "select * from {{ ref('stg_orders' }}\n");
    const { handle, buildId } = await buildOn({ projectDir });
    const f = await failureOf(handle);
    expect(f.type).toBe('DbtInvocationError');
    expect(f.message).toMatch(/dbt failed \(exit code 2\)/);
    expect(f.message).toMatch(/broken/);
    expect(await activityAttempts(handle, 'resolveBuildGraph')).toBe(1);
    expect(dbtProcessesOf(buildId)).toEqual([]);
  });

  it('an unknown target fails the build, quoting dbt', async () => {
    const { handle } = await buildOn({ target: 'no_such_target' });
    const f = await failureOf(handle);
    expect(f.type).toBe('DbtInvocationError');
    expect(f.message).toContain("no_such_target");
  });

  it('a broken profile fails the build, quoting dbt', async () => {
    const projectDir = copyShopProject();
    cleanup.push(() => rmSync(projectDir, { recursive: true, force: true }));
    mkdirSync(path.join(projectDir, 'bad_profiles'));
    writeFileSync(path.join(projectDir, 'bad_profiles', 'profiles.yml'), 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n');
    const { handle } = await buildOn({ projectDir, profilesDir: 'bad_profiles' });
    const f = await failureOf(handle);
    expect(f.type).toBe('DbtInvocationError');
    expect(f.message).toMatch(/profile|host|Runtime Error|missing/i);
  });

  it('a selection that matches nothing fails the build, naming it', async () => {
    const { handle } = await buildOn({ select: ['no_such_model_anywhere'] });
    const f = await failureOf(handle);
    expect(f.type).toBe('NothingSelected');
    expect(f.message).toContain('matched no model, seed or snapshot');
  });

  it('a missing project directory fails the build, naming the field', async () => {
    const { handle } = await buildOn({ projectDir: '/nonexistent/dbt/project' });
    const f = await failureOf(handle);
    expect(f.type).toBe('InvalidInput');
    expect(f.message).toBe('projectDir: /nonexistent/dbt/project is not a directory');
    expect(await activityAttempts(handle, 'resolveBuildGraph')).toBe(1);
  });

  it('dbt not installed on the worker fails the build, saying so', async () => {
    const taskQueue = uniqueName('nodbt');
    const worker: WorkerProcess = await startWorkerProcess(taskQueue, { DBT: '/nonexistent/bin/dbt' });
    cleanup.push(() => worker.stop());
    const { handle } = await buildOn({}, taskQueue);
    const f = await failureOf(handle);
    expect(f.type).toBe('DbtInvocationError');
    expect(f.message).toContain('dbt executable not found: /nonexistent/bin/dbt');
  });
});

describe('dbt killed mid-run', () => {
  it('fails the build with the signal, and every open consumer ends not run with the cause', async () => {
    const { handle, buildId } = await buildOn({ vars: { shop_sleep_seconds: 60 } });
    await waitUntil('dbt to be building', async () => ((await progressOf(client, buildId))?.counts.success ?? 0) >= 5, 90_000);
    for (const pid of dbtProcessesOf(buildId)) process.kill(pid, 'SIGKILL');
    const f = await failureOf(handle);
    expect(f.type).toBe('DbtInvocationError');
    expect(f.message).toMatch(/dbt failed \(signal SIGKILL\)/);
    const progress = f.progress!;
    const open = progress.nodes.filter((n) => n.status !== 'success');
    expect(open.length).toBeGreaterThan(0);
    for (const n of open) {
      const end = await consumerEnd(client, buildId, n.uniqueId);
      expect(end.closeStatus, n.uniqueId).toBe('FAILED');
      expect(end.failureType, n.uniqueId).toBe('NodeNotRun');
      expect(end.message, n.uniqueId).toContain('the dbt build failed: dbt failed (signal SIGKILL)');
      // Not retried: a rerun would not help a build that dbt could not finish.
      expect((await client.workflow.getHandle(nodeWorkflowId(buildId, n.uniqueId)).describe()).status.name).toBe('FAILED');
    }
    expect(dbtProcessesOf(buildId)).toEqual([]);
    const root = (await buildExecution(pool, buildId))!;
    expect(root.status).toBe('error');
    const children = new Map((await childrenOf(pool, root.id)).map((c) => [c.pipeline, c.status]));
    for (const n of open) expect(children.get(n.uniqueId), n.uniqueId).toBe('not_run');
  });
});
