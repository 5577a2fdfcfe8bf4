// Consumer workflow `dbtNode`: one per model, seed and snapshot of a build. It waits for its
// node's report from the build, and ends with its status, so the Temporal UI shows per-node
// status. On retry (attempt > 1) it re-runs its node alone once its upstream consumers ended.
import {
  ApplicationFailure,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { WatcherActivities } from '../activities/index.js';
import {
  nodeReportSignal,
  nodeStartedSignal,
  nodeStateQuery,
  type NodeOutcome,
  type NodeReport,
} from '../src/contracts/messages.js';
import { SearchAttributes } from '../src/contracts/names.js';
import { nodeInputOf, type NodeInput, type NodeInputRaw } from '../src/contracts/node-input.js';
import {
  consumerVerdict,
  FailuresNotRetried,
  FailureTypes,
  isPassingNodeStatus,
  nodeFailure,
  nodeOutcomeOfFailure,
  type NodeStatus,
} from '../src/contracts/status.js';
import { HEARTBEAT_TIMEOUT_SECONDS, RERUN_HEARTBEAT_TIMEOUT_SECONDS, RERUN_TIMEOUT_SECONDS } from '../src/contracts/timeouts.js';
import { InvalidInputError } from '../src/contracts/validation.js';
import { nodeExecutionKey, nodePipelineType, rerunExecutionKey, timesOf } from '../src/recording/records.js';
import { EXACT_TIMELINESS_NODE_PATCH, timelinessOf, TimelinessTimer } from './timeliness-timer.js';

const { rerunNode } = proxyActivities<WatcherActivities>({
  startToCloseTimeout: RERUN_TIMEOUT_SECONDS * 1000,
  heartbeatTimeout: RERUN_HEARTBEAT_TIMEOUT_SECONDS * 1000,
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { maximumAttempts: 2, nonRetryableErrorTypes: FailuresNotRetried.dbtActivity },
});

export async function dbtNode(rawInput: NodeInputRaw): Promise<NodeOutcome> {
  let input: NodeInput;
  try {
    input = nodeInputOf(rawInput, workflowInfo().parent);
  } catch (err) {
    if (err instanceof InvalidInputError) throw ApplicationFailure.nonRetryable(err.message, FailureTypes.invalidInput);
    throw err;
  }
  const { node } = input;
  const { attempt, lastFailure } = workflowInfo();
  const previousAttempts = earlierAttempts(lastFailure);
  const inactive = node.active === false ? ' (inactive: `meta.watcher.active: false`)' : '';
  let status: NodeStatus = 'pending';
  let report: NodeReport | undefined;

  const setStatus = (next: NodeStatus, details: string) => {
    if (next !== status) upsertSearchAttributes([{ key: SearchAttributes.status, value: next }]);
    status = next;
    setCurrentDetails(details);
  };

  // Exact timeliness: from the node's start, a durable timer to its due moment (consumers of
  // builds that pass their key; histories recorded before it replay without it).
  const buildKey = input.buildKey;
  const timeliness = buildKey !== undefined && patched(EXACT_TIMELINESS_NODE_PATCH) ? new TimelinessTimer() : undefined;
  const watchTimeliness = (startedAt: string, executionKey: string) =>
    timeliness?.arm(async () => {
      const fallback = { timeliness: node.timeliness, muted: node.muteTimeliness };
      const settings = await timelinessOf({ name: node.uniqueId, type: nodePipelineType(node.resourceType), fallback });
      return settings ? { pipelineName: node.uniqueId, executionKey, startedAt: new Date(startedAt), settings } : undefined;
    });

  // Handlers first: a report that arrives before we wait is kept, never lost.
  setHandler(nodeReportSignal, (incoming) => {
    report ??= incoming;
  });
  setHandler(nodeStartedSignal, ({ startedAt }) => {
    if (!report && status === 'pending') {
      setStatus('running', `dbt started \`${node.uniqueId}\` at ${startedAt}`);
      if (buildKey !== undefined) watchTimeliness(startedAt, nodeExecutionKey(buildKey, node.uniqueId));
    }
  });
  // What the build delivered: this run's report on attempt 1, else the first run's outcome.
  const firstRun = previousAttempts[0];
  setHandler(nodeStateQuery, () => {
    const fromBuild = attempt === 1 ? report : firstRun;
    return { uniqueId: node.uniqueId, status, attempt, report, ...(fromBuild ? { fromBuild: { node: fromBuild.node, tests: fromBuild.tests } } : {}) };
  });

  let rerun: NodeOutcome['rerun'];
  try {
    if (attempt === 1) {
      setCurrentDetails(`Waiting for dbt build \`watcher/${input.buildId}\` to report \`${node.uniqueId}\`${inactive}`);
      const arrived = await condition(() => report !== undefined, input.waitTimeoutSeconds * 1000, {
        summary: `bound on the wait for dbt's report on ${node.uniqueId}`,
      });
      if (!arrived) {
        report = {
          uniqueId: node.uniqueId,
          node: { uniqueId: node.uniqueId, resourceType: node.resourceType, status: 'not_run', dbtStatus: 'not_run', source: 'missing' },
          tests: [],
          cause: `no result from the build within ${input.waitTimeoutSeconds} s`,
          retryable: true,
        };
      }
    } else {
      // The failed run's signals are gone with it: re-run the node alone, once upstream is done.
      if (node.upstream.length > 0) {
        setStatus('pending', `Attempt ${attempt}: waiting for ${node.upstream.length} upstream node(s) to end`);
        const { waitForConsumers } = proxyActivities<WatcherActivities>({
          startToCloseTimeout: input.upstreamTimeoutSeconds * 1000,
          heartbeatTimeout: HEARTBEAT_TIMEOUT_SECONDS * 1000,
          retry: { maximumInterval: '1 minute' },
        });
        const upstream = await waitForConsumers({ buildId: input.buildId, uniqueIds: node.upstream });
        const failed = upstream.filter((u) => !u.ok);
        if (failed.length > 0) {
          setStatus('skipped', `Upstream failed: ${failed.map((f) => f.uniqueId).join(', ')}`);
          throw ApplicationFailure.nonRetryable(
            `not re-run: upstream ${failed.map((f) => `${f.uniqueId} (${f.detail})`).join('; ')} failed`,
            FailureTypes.upstreamFailed,
          );
        }
      }
      setStatus('running', `Attempt ${attempt}: re-running \`${node.selector}\` alone`);
      if (buildKey !== undefined) watchTimeliness(new Date().toISOString(), rerunExecutionKey(buildKey, node.uniqueId, attempt));
      const result = await rerunNode({
        buildId: input.buildId,
        uniqueId: node.uniqueId,
        selector: node.selector,
        tests: node.tests,
        ...(input.rerun ? { flags: input.rerun } : { flagsFrom: input.rerunFlagsFrom }),
        attempt,
      });
      report = result.report;
      rerun = { invocationId: result.invocationId, nodesRun: result.nodesRun };
    }
  } catch (err) {
    if (isCancellation(err)) setStatus('canceled', 'Canceled');
    throw err;
  }

  const final = report!;
  const verdict = consumerVerdict(final.node, final.tests);
  // The timer ends with the node; its alert's delivery is not waited for (see timeliness-timer.ts).
  const endDate = new Date(timesOf(final.node, final.completedAtMs ?? Date.now()).endDate);
  const watched = timeliness ? await timeliness.stop({ endDate, succeeded: isPassingNodeStatus(verdict.status) }) : false;
  const outcome: NodeOutcome = {
    uniqueId: node.uniqueId,
    resourceType: node.resourceType,
    status: verdict.status,
    attempt,
    node: final.node,
    tests: final.tests,
    rerun,
    message: final.cause ?? final.node.message,
    reportCompletedAtMs: final.completedAtMs,
    invocationId: final.invocationId,
    ...(previousAttempts.length ? { previousAttempts } : {}),
    ...(node.active === false ? { active: false } : {}),
    ...(watched ? { timelinessWatched: true } : {}),
  };
  setStatus(verdict.status, describeOutcome(outcome));
  if (verdict.status === 'canceled') {
    throw nodeFailure(FailureTypes.nodeCanceled, `${node.uniqueId} was canceled: ${outcome.message ?? ''}`, outcome, true);
  }
  if (verdict.failureType) {
    throw nodeFailure(
      verdict.failureType,
      `${node.uniqueId}: ${verdict.status}${outcome.message ? `: ${outcome.message}` : ''}`,
      outcome,
      final.retryable === false,
    );
  }
  return outcome;
}

/** The outcomes of this consumer's earlier runs, carried in the last run's failure details. */
function earlierAttempts(lastFailure: Error | undefined): NodeOutcome[] {
  const outcome = nodeOutcomeOfFailure(lastFailure);
  if (!outcome) return [];
  const { previousAttempts, ...rest } = outcome;
  return [...(previousAttempts ?? []), rest];
}

function describeOutcome(o: NodeOutcome): string {
  const lines = [`**${o.status}** (attempt ${o.attempt})`];
  if (o.node.rowsAffected !== undefined) lines.push(`rows affected: ${o.node.rowsAffected}`);
  if (o.node.executionTimeSeconds !== undefined) lines.push(`execution time: ${o.node.executionTimeSeconds.toFixed(2)} s`);
  if (o.tests.length) lines.push(`tests: ${o.tests.map((t) => `${t.uniqueId.split('.').slice(2, 3).join('')} ${t.status}`).join(', ')}`);
  if (o.message) lines.push(`message: ${o.message}`);
  return lines.join('\n\n');
}
