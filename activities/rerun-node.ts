// A retried consumer's own run: `dbt build --select <its exact selector>` with the build's
// flags. It runs the node and the tests that belong to it, nothing else.
import { Context } from '@temporalio/activity';
import type { RerunFlags } from '../src/contracts/build-input.js';
import type { NodeReport } from '../src/contracts/messages.js';
import { readRunResults } from '../src/dbt/artifacts.js';
import { rerunArgs } from '../src/dbt/command.js';
import { DbtEventNames } from '../src/dbt/events.js';
import { describeDbtFailure, prepareInvocationPaths, startInvocation, type RunningInvocation } from '../src/dbt/invocation.js';
import { ReportTracker } from '../src/dbt/report-tracker.js';
import { resultFromEvent, resultFromRunResult } from '../src/dbt/translate.js';
import type { ActivityDeps } from './deps.js';
import { assertProjectDir, dbtNotFoundFailure } from './resolve-build-graph.js';
import { superviseInvocation } from './supervise.js';

export interface RerunNodeInput {
  buildId: string;
  uniqueId: string;
  selector: string;
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
  let invocationId: string | undefined;
  const tracker = new ReportTracker([{ uniqueId: input.uniqueId, tests: input.tests }], () => invocationId);
  const nodesRun: string[] = [];
  let report: NodeReport | undefined;

  let running: RunningInvocation;
  try {
    running = startInvocation({
      dbtBin: deps.dbtBin,
      args: rerunArgs(input.flags, input.selector, paths),
      cwd: input.flags.projectDir,
      env: deps.dbtEnv,
      onEvent: (event) => {
        invocationId ??= event.invocationId || undefined;
        if (event.name !== DbtEventNames.nodeFinished && event.name !== DbtEventNames.threadCrash) return;
        const result = resultFromEvent(event);
        if (!result) return;
        nodesRun.push(result.uniqueId);
        report ??= tracker.record(result, Date.parse(event.ts) || Date.now())[0];
      },
    });
  } catch (err) {
    dbtNotFoundFailure(err);
  }
  const { outcome, cancelled } = await superviseInvocation(running, {
    heartbeatIntervalMs: deps.heartbeatIntervalMs,
    stopGraceMs: deps.stopGraceMs,
    details: () => ({ invocationId, nodesRun: nodesRun.length }),
  }).catch(dbtNotFoundFailure);
  if (cancelled) throw cancelled;

  if (!report) {
    const runResults = await readRunResults(paths.targetPath, outcome.invocationId);
    for (const entry of runResults?.results ?? []) report ??= tracker.record(resultFromRunResult(entry), Date.now())[0];
  }
  if (!report) {
    const failed = outcome.exit.code !== 0 && outcome.exit.code !== 1;
    const cause = failed ? describeDbtFailure(outcome) : `dbt reported no result for ${input.selector}`;
    // A dbt that cannot even start (parse error) will not do better on another attempt.
    report = tracker.completeAll('not_run', cause, !failed, Date.now())[0]!;
  }
  return { report, invocationId: outcome.invocationId, nodesRun, exitCode: outcome.exit.code };
}
