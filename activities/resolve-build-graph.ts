// Resolve the build's selected graph once, with dbt's own selection (`dbt ls`) and manifest.
import { Context } from '@temporalio/activity';
import path from 'node:path';
import { planBuild } from '../src/build/plan.js';
import type { BuildInput } from '../src/contracts/build-input.js';
import type { BuildPlan } from '../src/contracts/messages.js';
import { readManifest } from '../src/dbt/artifacts.js';
import { listArgs } from '../src/dbt/command.js';
import { DbtRun } from '../src/dbt/dbt-run.js';
import { uniqueIdOfListLine } from '../src/dbt/events.js';
import { prepareInvocationPaths } from '../src/dbt/invocation.js';
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
  const paths = await prepareInvocationPaths(input.projectDir, buildId, 'resolve');
  // Every line of `dbt ls` is one selected node: none may be dropped, however many.
  const selected = new Set<string>();
  const onPlainLine = (line: string) => {
    const uniqueId = uniqueIdOfListLine(line);
    if (uniqueId) selected.add(uniqueId);
  };
  const run = DbtRun.start({ dbtBin: deps.dbtBin, args: listArgs(input, paths), cwd: input.projectDir, env: deps.dbtEnv, paths, onPlainLine });
  const outcome = await run.wait({
    signal: Context.current().cancellationSignal,
    stopGraceMs: deps.stopGraceMs,
    heartbeat: () => keepHeartbeating(deps.heartbeatIntervalMs, () => ({ phase: 'dbt ls' })),
  });
  // The selection is whole only if `dbt ls` succeeded: exit 0 and nothing else.
  if (outcome.kind !== 'ok') throw dbtRunFailure(outcome);

  const manifest = await readManifest(paths.targetPath);
  if (!manifest) throw new Error(`dbt ls did not write ${path.join(paths.targetPath, 'manifest.json')}`);
  return { ...planBuild(manifest, selected), targetKey: targetKeyOf(input) };
}
