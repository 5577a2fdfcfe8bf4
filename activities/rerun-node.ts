// A retried consumer's own run: `dbt build --select <its exact selector>` with the build's
// flags. It runs the node and the tests that belong to it, nothing else.
import { Context } from '@temporalio/activity';
import type { RerunFlags } from '../src/contracts/build-input.js';
import type { DbtNodeResult, NodeReport } from '../src/contracts/messages.js';
import { readRunResults } from '../src/dbt/artifacts.js';
import { rerunArgs } from '../src/dbt/command.js';
import { describeDbtFailure, prepareInvocationPaths, startInvocation, type RunningInvocation } from '../src/dbt/invocation.js';
import { EventTranslator, missingResult, resultFromRunResult } from '../src/dbt/translate.js';
import type { ActivityDeps } from './deps.js';
import { assertProjectDir, dbtNotFoundFailure } from './resolve-build-graph.js';
import { keepHeartbeating, superviseInvocation } from './supervise.js';

export interface RerunNodeInput {
  buildId: string;
  uniqueId: string;
  selector: string;
  /** The node's tests in the build; the report keeps those this rerun ran. */
  tests: string[];
  flags: RerunFlags;
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

export async function rerunNode(deps: ActivityDeps, input: RerunNodeInput): Promise<RerunNodeResult> {
  assertProjectDir(input.flags.projectDir);
  const activityAttempt = Context.current().info.attempt;
  const paths = await prepareInvocationPaths(
    input.flags.projectDir,
    input.buildId,
    `rerun-${input.uniqueId}-${input.attempt}-${activityAttempt}`,
  );
  const results = new Map<string, DbtNodeResult>();
  const translator = new EventTranslator();
  let running: RunningInvocation;
  try {
    running = startInvocation({
      dbtBin: deps.dbtBin,
      args: rerunArgs(input.flags, input.selector, paths),
      cwd: input.flags.projectDir,
      env: deps.dbtEnv,
      onEvent: (event) => {
        const result = translator.translate(event);
        if (result && !results.has(result.uniqueId)) results.set(result.uniqueId, result);
      },
    });
  } catch (err) {
    dbtNotFoundFailure(err);
  }
  const stopHeartbeats = keepHeartbeating(deps.heartbeatIntervalMs, () => ({ invocationId: running.invocationId(), nodesRun: results.size }));
  const { outcome, cancelled } = await superviseInvocation(running, { stopGraceMs: deps.stopGraceMs })
    .catch(dbtNotFoundFailure)
    .finally(stopHeartbeats);
  if (cancelled) throw cancelled;

  const runResults = await readRunResults(paths.targetPath, outcome.invocationId);
  for (const entry of runResults?.results ?? []) if (!results.has(entry.unique_id)) results.set(entry.unique_id, resultFromRunResult(entry));

  // The rerun's selection decides which tests count: a test shared with a node that is not
  // upstream of this one is not run here (it reruns with that node).
  const tests = input.tests.map((id) => results.get(id)).filter((r): r is DbtNodeResult => r !== undefined);
  const node = results.get(input.uniqueId);
  const report: NodeReport = { uniqueId: input.uniqueId, node: node!, tests, invocationId: outcome.invocationId, completedAtMs: Date.now() };
  if (!node) {
    const failed = outcome.exit.code !== 0 && outcome.exit.code !== 1;
    report.cause = failed ? describeDbtFailure(outcome) : `dbt reported no result for ${input.selector}`;
    report.node = missingResult(input.uniqueId, 'not_run', report.cause);
    // A dbt that cannot even start (parse error) will not do better on another attempt.
    report.retryable = !failed;
  }
  return { report, invocationId: outcome.invocationId, nodesRun: [...results.keys()], exitCode: outcome.exit.code };
}
