// Resolve the build's selected graph once, with dbt's own selection (`dbt ls`) and manifest.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import path from 'node:path';
import { planBuild } from '../src/build/plan.js';
import type { BuildInput } from '../src/contracts/build-input.js';
import type { BuildPlan } from '../src/contracts/messages.js';
import { jsonBytes, MAX_PLAN_BYTES, planTooLargeMessage } from '../src/contracts/payload-size.js';
import { FailureTypes } from '../src/contracts/status.js';
import { readManifest } from '../src/dbt/artifacts.js';
import { listArgs, parseArgs, type InvocationPaths } from '../src/dbt/command.js';
import { DbtRun, type DbtRunOutcome } from '../src/dbt/dbt-run.js';
import { DbtRunnerProcess } from '../src/dbt/dbt-runner-process.js';
import { uniqueIdOfListLine } from '../src/dbt/events.js';
import { buildWorkflowId } from '../src/contracts/names.js';
import { DEFAULT_KEEP_BUILD_DIRS, prepareInvocationPaths, pruneBuildWorkDirs, RESOLVE_INVOCATION } from '../src/dbt/invocation.js';
import { targetKeyOf } from '../src/dbt/target-key.js';
import { assertProjectDir, dbtRunFailure } from './dbt-failures.js';
import type { ActivityDeps } from './deps.js';
import { keepHeartbeating } from './heartbeat.js';

export interface ResolveBuildGraphInput {
  buildId: string;
  input: BuildInput;
}

export async function resolveBuildGraph(deps: ActivityDeps, { buildId, input }: ResolveBuildGraphInput): Promise<BuildPlan> {
  assertProjectDir(input.projectDir);
  const paths = await prepareInvocationPaths(input.projectDir, buildId, RESOLVE_INVOCATION);
  await pruneBuildDirs(deps, input.projectDir, buildId);
  // Every line of `dbt ls` is one selected node: none may be dropped, however many.
  const selected = new Set<string>();
  const onPlainLine = (line: string) => {
    const uniqueId = uniqueIdOfListLine(line);
    if (uniqueId) selected.add(uniqueId);
  };
  const { outcome, runner } = await listSelection(deps, buildId, input, paths, onPlainLine);
  try {
    // The selection is whole only if `dbt ls` succeeded: exit 0 and nothing else.
    if (outcome.kind !== 'ok') throw dbtRunFailure(outcome);

    const manifest = await readManifest(paths.targetPath);
    if (!manifest) throw new Error(`dbt ls did not write ${path.join(paths.targetPath, 'manifest.json')}`);
    const plan: BuildPlan = { ...planBuild(manifest, selected), targetKey: targetKeyOf(input) };
    // A plan over Temporal's payload limit would fail the build's workflow task again and again: refuse it, saying why.
    const maxBytes = deps.maxPlanBytes ?? MAX_PLAN_BYTES;
    const bytes = jsonBytes(plan);
    if (bytes > maxBytes) throw ApplicationFailure.nonRetryable(planTooLargeMessage(plan.nodes.length, bytes, maxBytes), FailureTypes.planTooLarge);
    // The build goes on: its `dbt build` runs in this runner if it claims it in time. A plan of
    // no node ends the build at once (NothingSelected): no `dbt build` will claim it.
    if (runner && plan.nodes.length > 0) deps.dbtRunners?.hold(buildId, runner);
    else await runner?.end(deps.stopGraceMs);
    return plan;
  } catch (err) {
    // A build that fails here has no `dbt build`: its runner is gone before the activity says so.
    await runner?.end(deps.stopGraceMs);
    throw err;
  }
}

/**
 * `dbt ls` of the build's selection. With the worker's dbt runners, in a runner that parses the
 * project first, returned still running (the caller holds it for the build's `dbt build`, or
 * ends it); else in a dbt process of its own.
 */
async function listSelection(
  deps: ActivityDeps,
  buildId: string,
  input: BuildInput,
  paths: InvocationPaths,
  onPlainLine: (line: string) => void,
): Promise<{ outcome: DbtRunOutcome; runner?: DbtRunnerProcess }> {
  const args = listArgs(input, paths);
  const waitOptions = {
    signal: Context.current().cancellationSignal,
    stopGraceMs: deps.stopGraceMs,
    heartbeat: () => keepHeartbeating(deps.heartbeatIntervalMs, () => ({ phase: 'dbt ls' })),
  };
  const common = { dbtBin: deps.dbtBin, cwd: input.projectDir, env: deps.dbtEnv, paths };
  let runner: DbtRunnerProcess | undefined;
  try {
    if (deps.dbtRunners) runner = new DbtRunnerProcess({ python: deps.dbtRunners.python, forDir: path.dirname(paths.targetPath), cwd: input.projectDir, env: deps.dbtEnv, envArgs: args });
  } catch (err) {
    // Its Python cannot start or be tied to the worker: a dbt process says why, or does the work.
    console.error(`watcher: build ${buildId}: dbt runner not started (${err instanceof Error ? err.message : String(err)}); running dbt ls on its own`);
  }
  if (!runner) return { outcome: await DbtRun.start({ ...common, args, onPlainLine }).wait(waitOptions) };
  const inRunner = { process: runner, last: false };
  try {
    let outcome = await DbtRun.start({ ...common, args: parseArgs(input, paths), runner: inRunner }).wait(waitOptions);
    if (outcome.kind === 'ok') outcome = await DbtRun.start({ ...common, args, onPlainLine, runner: inRunner }).wait(waitOptions);
    return { outcome, runner };
  } catch (err) {
    await runner.end(deps.stopGraceMs);
    throw err;
  }
}

/**
 * Each build, as it starts, removes the oldest build work dirs of its project past
 * deps.keepBuildDirs, never one whose build Temporal does not say is closed. Cleaning up never
 * fails a build: a problem is logged, and the next build tries again.
 */
async function pruneBuildDirs(deps: ActivityDeps, projectDir: string, buildId: string): Promise<void> {
  const isOpen = async (id: string) => {
    if (id === buildId) return true;
    try {
      return (await deps.client.workflow.getHandle(buildWorkflowId(id)).describe()).status.name === 'RUNNING';
    } catch (err) {
      return !(err instanceof WorkflowNotFoundError); // unknown: keep it
    }
  };
  // One describe per dir past the limit: many after an upgrade, so heartbeat meanwhile.
  const stopHeartbeats = keepHeartbeating(deps.heartbeatIntervalMs, () => ({ phase: 'remove old build dirs' }));
  try {
    await pruneBuildWorkDirs(projectDir, deps.keepBuildDirs ?? DEFAULT_KEEP_BUILD_DIRS, isOpen);
  } catch (err) {
    console.error(`watcher: build ${buildId}: could not remove old build dirs of ${projectDir}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    stopHeartbeats();
  }
}
