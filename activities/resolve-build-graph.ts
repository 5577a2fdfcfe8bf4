// Resolve the build's selected graph once, with dbt's own selection (`dbt ls`) and manifest.
import { ApplicationFailure } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { BuildInput } from '../src/contracts/build-input.js';
import type { BuildPlan } from '../src/contracts/messages.js';
import { FailureTypes } from '../src/contracts/status.js';
import { readManifest } from '../src/dbt/artifacts.js';
import { listArgs } from '../src/dbt/command.js';
import { describeDbtFailure, prepareInvocationPaths } from '../src/dbt/invocation.js';
import { planBuild } from '../src/dbt/plan.js';
import { DbtNotFoundError } from '../src/dbt/process.js';
import type { ActivityDeps } from './deps.js';
import { keepHeartbeating, superviseInvocation } from './supervise.js';
import { startInvocation } from '../src/dbt/invocation.js';

export interface ResolveBuildGraphInput {
  buildId: string;
  input: BuildInput;
}

/** A missing project is the caller's mistake: fail at once, naming the field. */
export function assertProjectDir(projectDir: string): void {
  let isDir = false;
  try {
    isDir = statSync(projectDir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw ApplicationFailure.nonRetryable(`projectDir: ${projectDir} is not a directory`, FailureTypes.invalidInput);
  if (!existsSync(path.join(projectDir, 'dbt_project.yml'))) {
    throw ApplicationFailure.nonRetryable(`projectDir: ${projectDir} has no dbt_project.yml`, FailureTypes.invalidInput);
  }
}

/** dbt not installed is an operator's problem, not worth retrying. */
export function dbtNotFoundFailure(err: unknown): never {
  if (err instanceof DbtNotFoundError) throw ApplicationFailure.nonRetryable(err.message, FailureTypes.dbtInvocation);
  throw err;
}

export async function resolveBuildGraph(deps: ActivityDeps, { buildId, input }: ResolveBuildGraphInput): Promise<BuildPlan> {
  assertProjectDir(input.projectDir);
  const paths = await prepareInvocationPaths(input.projectDir, buildId, 'resolve');
  // Every line of `dbt ls` is one selected node: none may be dropped, however many.
  const selected = new Set<string>();
  const onPlainLine = (line: string) => {
    const uniqueId = uniqueIdOfListLine(line);
    if (uniqueId) selected.add(uniqueId);
  };
  const running = (() => {
    try {
      return startInvocation({ dbtBin: deps.dbtBin, args: listArgs(input, paths), cwd: input.projectDir, env: deps.dbtEnv, onPlainLine });
    } catch (err) {
      return dbtNotFoundFailure(err);
    }
  })();
  const stopHeartbeats = keepHeartbeating(deps.heartbeatIntervalMs, () => ({ phase: 'dbt ls' }));
  const { outcome, cancelled } = await superviseInvocation(running, { stopGraceMs: deps.stopGraceMs })
    .catch(dbtNotFoundFailure)
    .finally(stopHeartbeats);
  if (cancelled) throw cancelled;
  if (outcome.exit.code !== 0) {
    throw ApplicationFailure.nonRetryable(describeDbtFailure(outcome), FailureTypes.dbtInvocation);
  }

  const manifest = await readManifest(paths.targetPath);
  if (!manifest) throw new Error(`dbt ls did not write ${path.join(paths.targetPath, 'manifest.json')}`);
  return { ...planBuild(manifest, selected), targetKey: targetKeyOf(input) };
}

/** The node of one `dbt ls --output json --output-keys unique_id` line; dbt's plain-text warnings have none. */
export function uniqueIdOfListLine(line: string): string | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    const row = JSON.parse(text) as { unique_id?: unknown };
    return typeof row.unique_id === 'string' ? row.unique_id : undefined;
  } catch {
    return undefined;
  }
}

/** (real project directory, target): two builds with the same key write the same relations. */
export function targetKeyOf(input: Pick<BuildInput, 'projectDir' | 'target'>): string {
  let dir = input.projectDir;
  try {
    dir = realpathSync(dir);
  } catch {
    // checked by assertProjectDir already
  }
  return createHash('sha256').update(`${dir}\u0000${input.target ?? ''}`).digest('hex').slice(0, 32);
}
