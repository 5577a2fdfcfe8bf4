// The build activity: ONE `dbt build`, each node's result sent to its consumer the moment dbt
// reports it, then a reconciliation with run_results.json so every consumer gets a report.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { BuildInput } from '../src/contracts/build-input.js';
import type { NodeReport } from '../src/contracts/messages.js';
import { FailureTypes } from '../src/contracts/status.js';
import { readRunResults } from '../src/dbt/artifacts.js';
import { buildArgs } from '../src/dbt/command.js';
import { DbtEventNames, nodeInfoOf } from '../src/dbt/events.js';
import { describeDbtFailure, prepareInvocationPaths, startInvocation, type RunningInvocation } from '../src/dbt/invocation.js';
import { ReportTracker, type TrackedConsumer } from '../src/dbt/report-tracker.js';
import { EventTranslator, resultFromRunResult, utcTimestamp } from '../src/dbt/translate.js';
import { ConsumerSignals } from '../src/temporal/consumer-signals.js';
import type { ActivityDeps } from './deps.js';
import { assertProjectDir, dbtNotFoundFailure } from './resolve-build-graph.js';
import { superviseInvocation } from './supervise.js';

export interface RunBuildInput {
  buildId: string;
  input: BuildInput;
  /** The build's consumers and the tests that belong to each. */
  consumers: TrackedConsumer[];
}

export interface RunBuildResult {
  invocationId?: string;
  dbtVersion?: string;
  exitCode: number | null;
  /** Reports delivered to consumers (events + reconciliation). */
  reported: number;
  /** Consumers reported from run_results.json or as not run, because no event came. */
  reconciled: number;
  signalFailures: number;
}

/** The retry checkpoint, also visible in the Temporal UI as the activity's heartbeat details. */
export interface BuildHeartbeat {
  invocationId?: string;
  /** Consumers whose report went out. */
  reportedConsumers: string[];
  /** Every node (tests included) dbt reported a result for. */
  finishedNodes: string[];
}

export async function runBuild(deps: ActivityDeps, { buildId, input, consumers }: RunBuildInput): Promise<RunBuildResult> {
  assertProjectDir(input.projectDir);
  const attempt = Context.current().info.attempt;
  const resolvePaths = await prepareInvocationPaths(input.projectDir, buildId, 'resolve');
  const paths = await prepareInvocationPaths(input.projectDir, buildId, `build-${attempt}`, resolvePaths);

  let invocationId: string | undefined;
  const tracker = new ReportTracker(consumers, () => invocationId);
  const signals = new ConsumerSignals(deps.client, buildId, {
    concurrency: deps.signalConcurrency,
    onError: (uniqueId, err) => console.error(`watcher: could not signal ${uniqueId}: ${String(err)}`),
  });
  const deliver = (reports: NodeReport[]) => reports.forEach((r) => signals.report(r));

  const translator = new EventTranslator();
  let running: RunningInvocation;
  try {
    running = startInvocation({
      dbtBin: deps.dbtBin,
      args: buildArgs(input, paths),
      cwd: input.projectDir,
      env: deps.dbtEnv,
      onEvent: (event) => {
        invocationId ??= event.invocationId || undefined;
        if (event.name === DbtEventNames.nodeStart) {
          const info = nodeInfoOf(event);
          if (info && tracker.isConsumer(info.unique_id)) {
            signals.started(info.unique_id, utcTimestamp(info.node_started_at) ?? event.ts);
          }
        } else {
          const result = translator.translate(event);
          if (result) deliver(tracker.record(result, Date.parse(event.ts) || Date.now()));
        }
      },
    });
  } catch (err) {
    dbtNotFoundFailure(err);
  }

  const { outcome, cancelled } = await superviseInvocation(running, {
    heartbeatIntervalMs: deps.heartbeatIntervalMs,
    stopGraceMs: deps.stopGraceMs,
    details: (): BuildHeartbeat => ({
      invocationId,
      reportedConsumers: tracker.completedConsumers(),
      finishedNodes: tracker.finishedNodes(),
    }),
  }).catch(dbtNotFoundFailure);

  // Whatever happened, run_results.json (when dbt wrote it for this invocation) is the truth
  // for nodes whose NodeFinished never came: fail-fast, a crashed thread, Ctrl-C.
  const openBefore = tracker.openCount();
  const runResults = await readRunResults(paths.targetPath, outcome.invocationId);
  for (const entry of runResults?.results ?? []) deliver(tracker.record(resultFromRunResult(entry), Date.now()));

  if (cancelled) {
    await signals.drain();
    throw cancelled;
  }
  if (outcome.exit.code !== 0 && outcome.exit.code !== 1) {
    // dbt's "unhandled error" (2): parse error, bad profile, killed. Consumers still open are
    // told by the producer, which owns the build's failure.
    await signals.drain();
    throw ApplicationFailure.nonRetryable(describeDbtFailure(outcome), FailureTypes.dbtInvocation);
  }

  deliver(
    tracker.completeAll(
      'not_run',
      'dbt never ran this node (it reported no result: fail-fast, or an upstream ephemeral model failed)',
      true,
      Date.now(),
    ),
  );
  const stats = await signals.drain();
  return {
    invocationId: outcome.invocationId,
    dbtVersion: outcome.dbtVersion,
    exitCode: outcome.exit.code,
    reported: stats.delivered + stats.notFound,
    reconciled: openBefore,
    signalFailures: stats.failed,
  };
}
