// Helpers for integration tests: a client to the shared stack, isolated builds, and readers
// for what a build left behind (consumers, run_results.json).
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { startBuild, waitForBuild, type BuildResult } from '../../src/client.js';
import type { BuildInputRaw } from '../../src/contracts/build-input.js';
import type { NodeOutcome } from '../../src/contracts/messages.js';
import { buildWorkflowId, nodeWorkflowId } from '../../src/contracts/names.js';
import { nodeOutcomeOfFailure } from '../../src/contracts/status.js';
import { buildWorkDir } from '../../src/dbt/invocation.js';
import type { RunResults } from '../../src/dbt/artifacts.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import type { TestStack } from './global-setup.js';

const EXAMPLE_SHOP = path.join(PROJECT_ROOT, 'examples', 'shop');

export function stack(): TestStack {
  return inject('watcher');
}

export async function connectTestClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const s = stack();
  const connection = await Connection.connect({ address: s.temporalAddress });
  return { client: new Client({ connection, namespace: s.namespace }), close: () => connection.close() };
}

let counter = 0;
/** A unique, Postgres-safe name: each build gets its own schema so builds never collide. */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}_${process.pid}_${counter}_${Math.random().toString(36).slice(2, 6)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

const copies: string[] = [];

/** A private copy of the example project, for tests that edit it (removed after the file's tests). */
export function copyShopProject(): string {
  return copyProject(EXAMPLE_SHOP);
}

/** A private copy of a dbt project (removed after the file's tests, its dbt stopped with them). */
export function copyProject(source: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `watcher-${path.basename(source)}-`));
  cpSync(source, dir, { recursive: true, filter: (src) => !/[/\\](target|logs)$/.test(src) });
  copies.push(dir);
  return dir;
}

/** The project copies this test file made (see ./teardown.ts). */
export function shopProjectCopies(): readonly string[] {
  return copies;
}

/**
 * The example project, copied once per test file: a file's builds hold their own target lock
 * (project directory, target), so they never queue behind another file's leftovers, and what
 * a file leaves in the project stays in its copy.
 */
export const SHOP_PROJECT = copyShopProject();

export interface FinishedBuild {
  buildId: string;
  result: BuildResult;
  schema: string;
}

/** Start a build of the example project (own schema) on the shared worker and wait for it. */
export async function runShopBuild(client: Client, input: Partial<BuildInputRaw> & { vars?: Record<string, unknown> } = {}): Promise<FinishedBuild> {
  const schema = uniqueName('t');
  const buildId = input.buildId ?? uniqueName('b').replace(/_/g, '-');
  const { handle } = await startBuild(
    client,
    { projectDir: SHOP_PROJECT, nodeRetries: 0, ...input, buildId, vars: { schema, ...input.vars } },
    { taskQueue: stack().taskQueue },
  );
  return { buildId, result: await waitForBuild(handle), schema };
}

export interface ConsumerEnd {
  /** Temporal's view: COMPLETED, FAILED, CANCELED, TERMINATED. */
  closeStatus: string;
  outcome?: NodeOutcome;
  failureType?: string;
  message?: string;
}

/** How one consumer ended (following its retries). */
export async function consumerEnd(client: Client, buildId: string, uniqueId: string): Promise<ConsumerEnd> {
  const handle = client.workflow.getHandle(nodeWorkflowId(buildId, uniqueId));
  try {
    const outcome = (await handle.result()) as NodeOutcome;
    return { closeStatus: 'COMPLETED', outcome };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const description = await handle.describe();
    const cause = err.cause;
    return {
      closeStatus: description.status.name,
      outcome: nodeOutcomeOfFailure(cause),
      failureType: cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined,
      message: cause?.message,
    };
  }
}

export function readBuildRunResults(buildId: string, attempt = 1, projectDir = SHOP_PROJECT): RunResults {
  const file = path.join(buildWorkDir(projectDir, buildId), `build-${attempt}`, 'target', 'run_results.json');
  return JSON.parse(readFileSync(file, 'utf8')) as RunResults;
}

/** Visibility is eventually consistent: list until `expected` workflows show up (bounded). */
export async function listBuildWorkflows(client: Client, buildId: string, expected: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = [];
    for await (const wf of client.workflow.list({ query: `WatcherBuildId = '${buildId}'` })) rows.push(wf);
    if (rows.length >= expected || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Wait (bounded) until a workflow exists, e.g. a consumer its producer is about to start. */
export async function waitForWorkflow(client: Client, workflowId: string, timeoutMs = 60_000): Promise<{ runId: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const d = await client.workflow.getHandle(workflowId).describe();
      return { runId: d.runId };
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The run of the target lock (dbtTargetGuard) a build started: its workflow ID is shared by every build of the target. */
export async function targetGuardRunOf(client: Client, buildId: string): Promise<{ workflowId: string; runId: string }> {
  const events = (await client.workflow.getHandle(buildWorkflowId(buildId)).fetchHistory()).events ?? [];
  const started = events.map((e) => e.childWorkflowExecutionStartedEventAttributes).find((a) => a?.workflowType?.name === 'dbtTargetGuard')?.workflowExecution;
  if (!started?.workflowId || !started.runId) throw new Error(`build ${buildId} started no target guard`);
  return { workflowId: started.workflowId, runId: started.runId };
}

/** A history as users export it: `temporal workflow show -o json`. */
export async function exportHistory(workflowId: string, runId: string): Promise<unknown> {
  const { temporalCli, temporalAddress, namespace } = stack();
  const { stdout } = await promisify(execFile)(
    temporalCli,
    ['workflow', 'show', '--address', temporalAddress, '--namespace', namespace, '--workflow-id', workflowId, '--run-id', runId, '-o', 'json'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout);
}
