// `dbtNodeGroup`: starts and watches up to `groupSize` consumers of one build, tells the build
// once they have all started, and reports to the build, in batches, how each ended. Builds of any size keep every workflow far from
// Temporal's limits: the build has one child per group, a group at most `groupSize` children,
// and each reports at most one batch at a time (pending outgoing signals stay at 1).
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { RerunFlags } from '../src/contracts/build-input.js';
import { consumersStartedSignal, nodesEndedSignal, rerunFlagsQuery, type NodeEnd, type NodeOutcome } from '../src/contracts/messages.js';
import { nodeWorkflowId, SearchAttributes } from '../src/contracts/names.js';
import type { NodeInputRaw } from '../src/contracts/node-input.js';
import { jsonBytes, leadingPieceLength, PAYLOAD_BUDGET_BYTES, piecesOf, TASK_BUDGET_BYTES } from '../src/contracts/payload-size.js';
import { FailuresNotRetried, FailureTypes, nodeOutcomeOfFailure, statusOfFailureWithoutOutcome } from '../src/contracts/status.js';
import { dbtNode } from './dbt-node.js';

/** startChild calls per workflow task (and at most TASK_BUDGET_BYTES of their inputs, under the 4 MB task limit). */
const START_CHUNK = 100;
/** Node ends per signal to the build (and at most PAYLOAD_BUDGET_BYTES of them, under the 2 MB payload limit). */
const REPORT_BATCH = 200;
/**
 * The patch that cut starts and reports by bytes as well as by count, and made a report that is
 * too large alone go without its outcome. Histories from before it replay with their counts.
 */
export const PAYLOAD_BYTES_PATCH = 'payload-bytes';
/**
 * The patch that tells the build once every consumer of the group has started (the build waits
 * for it before dbt runs). Groups recorded before it replay without the signal.
 */
export const CONSUMERS_STARTED_PATCH = 'consumers-started';
/** The most a single node end may weigh in a report; a larger one goes without its outcome. */
const MAX_END_BYTES = PAYLOAD_BUDGET_BYTES / 2;
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
  /**
   * Ready-made inputs of this group's consumers, without the build's dbt flags when `rerun` has
   * them: the flags (vars up to 64 KiB) are in the group's input once, not once per consumer.
   */
  consumers: Array<{ input: GroupedNodeInput; staticSummary: string; staticDetails: string }>;
  /** The build's dbt flags for every consumer's single-node rerun (inputs from before it carry them per consumer). */
  rerun?: RerunFlags;
  retry: { maximumAttempts: number; initialIntervalMs: number };
}

/** A consumer's input as a group carries it: with the build's flags, or without them when the group has them. */
export type GroupedNodeInput = NodeInputRaw;

export async function dbtNodeGroup(input: NodeGroupInput): Promise<{ ended: number }> {
  const build = getExternalWorkflowHandle(input.buildWorkflowId);
  const byBytes = patched(PAYLOAD_BYTES_PATCH);
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
        const batch = pending.splice(0, byBytes ? leadingPieceLength(pending, REPORT_BATCH, PAYLOAD_BUDGET_BYTES, jsonBytes) : REPORT_BATCH);
        await build.signal(nodesEndedSignal, batch).catch(() => undefined); // the build is gone: nobody left to tell
        sent++;
      }
      if (!allEnded && sent < MAX_INTERIM_REPORTS) await sleep(REPORT_INTERVAL_MS);
      else if (!allEnded) await condition(() => allEnded);
    }
  });
  setCurrentDetails(`Nodes of build \`${input.buildWorkflowId}\`: group ${input.group} of ${input.groups}, ${input.consumers.length} consumers`);

  // The build's dbt flags, for consumers that rerun their node: asked of this group, not carried by each.
  const rerun = input.rerun;
  if (rerun) setHandler(rerunFlagsQuery, () => rerun);
  const consumers = input.consumers.map((c) => ({ ...c, input: withRerunFlags(c.input, rerun !== undefined) }));
  const chunks = byBytes
    ? piecesOf(consumers, START_CHUNK, TASK_BUDGET_BYTES, (c) => jsonBytes(c.input) + jsonBytes(c.staticDetails))
    : Array.from({ length: Math.ceil(consumers.length / START_CHUNK) }, (_, i) => consumers.slice(i * START_CHUNK, (i + 1) * START_CHUNK));
  const started: Array<{ uniqueId: string; handle: ChildWorkflowHandle<typeof dbtNode> }> = [];
  for (const chunk of chunks) {
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
  // The build waits for this before dbt runs; a build that is gone has nobody to run.
  if (patched(CONSUMERS_STARTED_PATCH)) await build.signal(consumersStartedSignal, { group: input.group }).catch(() => undefined);

  await Promise.all(
    started.map(({ uniqueId, handle }) =>
      handle
        .result()
        .then(
          (outcome) => endOfOutcome(outcome),
          (err) => endOfFailure(uniqueId, err),
        )
        .then((end) => {
          pending.push(byBytes ? withinReportBudget(end) : end);
          ended++;
        }),
    ),
  );
  allEnded = true;
  await reporting;
  return { ended };
}

/** A consumer's input: with its own flags (inputs from before the group had them), or this group's workflow ID to ask for them. */
function withRerunFlags(nodeInput: GroupedNodeInput, groupHasFlags: boolean): NodeInputRaw {
  if (nodeInput.rerun || nodeInput.rerunFlagsFrom) return nodeInput;
  if (!groupHasFlags) throw ApplicationFailure.nonRetryable(`the node group's input has no dbt flags for ${nodeInput.node.uniqueId} (rerun)`, FailureTypes.invalidInput);
  return { ...nodeInput, rerunFlagsFrom: workflowInfo().workflowId };
}

/**
 * A node end too large for a report (dbt messages of megabytes, thousands of tests) goes without
 * its outcome: the build still learns how the node ended, and records it from that.
 */
function withinReportBudget(end: NodeEnd): NodeEnd {
  if (!end.outcome || jsonBytes(end) <= MAX_END_BYTES) return end;
  log.warn(`the outcome of ${end.uniqueId} is too large to report (${jsonBytes(end)} bytes): the build gets its status only`);
  const { outcome: _outcome, ...slim } = end;
  return { ...slim, message: slim.message === undefined ? undefined : slim.message.slice(0, 4000) };
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
