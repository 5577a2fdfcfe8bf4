// `dbtNodeGroup`: starts and watches up to `groupSize` consumers of one build, and reports to
// the build, in batches, how each ended. Builds of any size keep every workflow far from
// Temporal's limits: the build has one child per group, a group at most `groupSize` children,
// and each reports at most one batch at a time (pending outgoing signals stay at 1).
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  setCurrentDetails,
  sleep,
  startChild,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { nodesEndedSignal, type NodeEnd, type NodeOutcome } from '../src/contracts/messages.js';
import { nodeWorkflowId, SearchAttributes } from '../src/contracts/names.js';
import type { NodeInputRaw } from '../src/contracts/node-input.js';
import { FailuresNotRetried, nodeOutcomeOfFailure, statusOfFailureWithoutOutcome } from '../src/contracts/status.js';
import { dbtNode } from './dbt-node.js';

/** startChild calls per workflow task: quick, and far under the 4 MB task-completion limit. */
const START_CHUNK = 100;
/** Node ends per signal to the build (each carries an outcome of a few KB at most). */
const REPORT_BATCH = 200;
/**
 * At most one report per second, and at most this many before the last: the build receives
 * at most ~400 signals per group, far under Temporal's 10,000 signals per workflow even for
 * 20 groups (10,000 consumers), and its history stays small.
 */
const REPORT_INTERVAL_MS = 1000;
const MAX_INTERIM_REPORTS = 400;

export interface NodeGroupInput {
  buildId: string;
  buildWorkflowId: string;
  group: number;
  groups: number;
  /** Ready-made inputs of this group's consumers. */
  consumers: Array<{ input: NodeInputRaw; staticSummary: string; staticDetails: string }>;
  retry: { maximumAttempts: number; initialIntervalMs: number };
}

export async function dbtNodeGroup(input: NodeGroupInput): Promise<{ ended: number }> {
  const build = getExternalWorkflowHandle(input.buildWorkflowId);
  const pending: NodeEnd[] = [];
  let ended = 0;
  let allEnded = false;
  // The build needs every end, canceled ones included: reports go out whatever is canceled.
  const reporting = CancellationScope.nonCancellable(async () => {
    let sent = 0;
    for (;;) {
      await condition(() => pending.length > 0 || allEnded);
      if (pending.length === 0) return;
      while (pending.length > 0) {
        await build.signal(nodesEndedSignal, pending.splice(0, REPORT_BATCH)).catch(() => undefined); // the build is gone: nobody left to tell
        sent++;
      }
      if (!allEnded && sent < MAX_INTERIM_REPORTS) await sleep(REPORT_INTERVAL_MS);
      else if (!allEnded) await condition(() => allEnded);
    }
  });
  setCurrentDetails(`Nodes of build \`${input.buildWorkflowId}\`: group ${input.group} of ${input.groups}, ${input.consumers.length} consumers`);

  const started: Array<{ uniqueId: string; handle: ChildWorkflowHandle<typeof dbtNode> }> = [];
  for (let i = 0; i < input.consumers.length; i += START_CHUNK) {
    const chunk = input.consumers.slice(i, i + START_CHUNK);
    const handles = await Promise.all(
      chunk.map(({ input: nodeInput, staticSummary, staticDetails }) =>
        startChild(dbtNode, {
          workflowId: nodeWorkflowId(input.buildId, nodeInput.node.uniqueId),
          args: [nodeInput],
          // A build that fails, is canceled or terminated takes its consumers down with it.
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          retry: {
            maximumAttempts: input.retry.maximumAttempts,
            initialInterval: input.retry.initialIntervalMs,
            backoffCoefficient: 2,
            nonRetryableErrorTypes: FailuresNotRetried.consumer,
          },
          typedSearchAttributes: [
            { key: SearchAttributes.buildId, value: input.buildId },
            { key: SearchAttributes.uniqueId, value: nodeInput.node.uniqueId },
            { key: SearchAttributes.resourceType, value: nodeInput.node.resourceType },
            { key: SearchAttributes.status, value: 'pending' },
          ],
          staticSummary,
          staticDetails,
        }),
      ),
    );
    chunk.forEach(({ input: nodeInput }, j) => started.push({ uniqueId: nodeInput.node.uniqueId, handle: handles[j]! }));
  }

  await Promise.all(
    started.map(({ uniqueId, handle }) =>
      handle
        .result()
        .then(
          (outcome) => endOfOutcome(outcome),
          (err) => endOfFailure(uniqueId, err),
        )
        .then((end) => {
          pending.push(end);
          ended++;
        }),
    ),
  );
  allEnded = true;
  await reporting;
  return { ended };
}

function endOfOutcome(outcome: NodeOutcome): NodeEnd {
  return { uniqueId: outcome.uniqueId, status: outcome.status, attempt: outcome.attempt, message: outcome.message, outcome };
}

/** A failed consumer carries its outcome in the failure's details (when it got that far). */
function endOfFailure(uniqueId: string, err: unknown): NodeEnd {
  if (isCancellation(err)) return { uniqueId, status: 'canceled', message: 'canceled' };
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  const failureType = cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
  const message = cause instanceof Error ? cause.message : String(cause);
  const outcome = nodeOutcomeOfFailure(cause);
  if (outcome) return { ...endOfOutcome(outcome), failureType, message: outcome.message ?? message };
  return { uniqueId, status: statusOfFailureWithoutOutcome(failureType), failureType, message };
}
