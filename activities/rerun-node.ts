// A retried consumer's own run: `dbt build --select <its exact selector>` with the build's
// flags. It runs the node and the tests that belong to it, nothing else.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { RerunFlags } from '../src/contracts/build-input.js';
import { rerunFlagsQuery, type DbtNodeResult, type NodeReport } from '../src/contracts/messages.js';
import { FailureTypes } from '../src/contracts/status.js';
import { rerunArgs } from '../src/dbt/command.js';
import { DbtRun } from '../src/dbt/dbt-run.js';
import { prepareLaterInvocationPaths } from '../src/dbt/invocation.js';
import { missingResult } from '../src/dbt/translate.js';
import { assertProjectDir, dbtRunFailure } from './dbt-failures.js';
import type { ActivityDeps } from './deps.js';
import { keepHeartbeating } from './heartbeat.js';

export interface RerunNodeInput {
  buildId: string;
  uniqueId: string;
  selector: string;
  /** The node's tests in the build; the report keeps those this rerun ran. */
  tests: string[];
  /** The build's dbt flags; or, with `flagsFrom`, asked of the node group that has them. */
  flags?: RerunFlags;
  /** The node group's workflow ID (its `rerunFlags` query), when the consumer does not carry the flags. */
  flagsFrom?: string;
  /** The consumer's attempt, to keep each rerun's artifacts apart. */
  attempt: number;
}

export interface RerunNodeResult {
  report: NodeReport;
  invocationId?: string;
  /** Every node dbt ran in this invocation (the node and its tests). */
  nodesRun: string[];
  exitCode: number | null;
}

export async function rerunNode(deps: ActivityDeps, rerun: RerunNodeInput): Promise<RerunNodeResult> {
  const input = { ...rerun, flags: await rerunFlagsOf(deps, rerun) };
  assertProjectDir(input.flags.projectDir);
  const ctx = Context.current();
  const activityAttempt = ctx.info.attempt;
  const paths = await prepareLaterInvocationPaths(
    input.flags.projectDir,
    input.buildId,
    `rerun-${input.uniqueId}-${input.attempt}-${activityAttempt}`,
  );
  // Every node this invocation ran, its first result first (events, then run_results.json).
  const results = new Map<string, DbtNodeResult>();
  const keepFirst = (result: DbtNodeResult) => {
    if (!results.has(result.uniqueId)) results.set(result.uniqueId, result);
  };
  const run = DbtRun.start({
    dbtBin: deps.dbtBin,
    args: rerunArgs(input.flags, input.selector, paths),
    cwd: input.flags.projectDir,
    env: deps.dbtEnv,
    paths,
    onResult: keepFirst,
  });
  const outcome = await run.wait({
    signal: ctx.cancellationSignal,
    stopGraceMs: deps.stopGraceMs,
    heartbeat: () => keepHeartbeating(deps.heartbeatIntervalMs, () => ({ invocationId: run.invocationId(), nodesRun: results.size })),
  });
  if (outcome.kind === 'not-found' || outcome.kind === 'canceled') throw dbtRunFailure(outcome);

  for (const result of await run.runResults()) keepFirst(result);

  // The rerun's selection decides which tests count: a test shared with a node that is not
  // upstream of this one is not run here (it reruns with that node).
  const tests = input.tests.map((id) => results.get(id)).filter((r): r is DbtNodeResult => r !== undefined);
  const node = results.get(input.uniqueId);
  const { invocationId, exit } = outcome.invocation;
  const report: NodeReport = { uniqueId: input.uniqueId, node: node!, tests, invocationId, completedAtMs: Date.now() };
  if (!node) {
    // Exit 2, another code or a signal: dbt itself failed. A dbt that cannot even start (parse
    // error) will not do better on another attempt; exit 0 or 1 without a result may.
    const failed = outcome.kind === 'dbt-failed' || outcome.kind === 'crashed';
    report.cause = failed ? outcome.message : `dbt reported no result for ${input.selector}`;
    report.node = missingResult(input.uniqueId, 'not_run', report.cause);
    report.retryable = !failed;
  }
  return { report, invocationId, nodesRun: [...results.keys()], exitCode: exit.code };
}

/** The consumer's own flags, or its node group's (a query: the group is open while its consumers run). */
async function rerunFlagsOf(deps: ActivityDeps, input: RerunNodeInput): Promise<RerunFlags> {
  if (input.flags) return input.flags;
  if (!input.flagsFrom) throw ApplicationFailure.nonRetryable(`rerun of ${input.uniqueId}: no dbt flags and no node group to ask for them`, FailureTypes.invalidInput);
  return deps.client.workflow.getHandle(input.flagsFrom).query(rerunFlagsQuery);
}
