// Producer workflow `dbtBuild`: resolves the selected graph once, starts one `dbtNode`
// consumer per model, seed and snapshot (through node groups of at most `groupSize`), runs ONE
// build activity (which reports each node to its consumer directly), then waits for every
// consumer and returns the per-node summary. It also owns the build's records and its target lock.
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { WatcherActivities } from '../activities/index.js';
import { parseBuildInput, rerunFlagsOf, type BuildInput, type BuildInputRaw } from '../src/contracts/build-input.js';
import {
  nodesEndedSignal,
  progressQuery,
  releaseTargetSignal,
  type BuildPlan,
  type BuildProgress,
  type NodeEnd,
  type NodeProgress,
  type PlannedNode,
} from '../src/contracts/messages.js';
import { BUILD_ID_PATTERN, nodeGroupWorkflowId, SearchAttributes, targetGuardWorkflowId } from '../src/contracts/names.js';
import type { NodeInputRaw } from '../src/contracts/node-input.js';
import {
  buildFailure,
  endedNodeStatus,
  FailuresNotRetried,
  FailureTypes,
  isPassingNodeStatus,
  isTerminalNodeStatus,
  type NodeStatus,
} from '../src/contracts/status.js';
import { BUILD_TIMEOUT_SECONDS, BUILD_WAIT_SECONDS, HEARTBEAT_TIMEOUT_SECONDS, TARGET_DRAIN_SECONDS } from '../src/contracts/timeouts.js';
import { InvalidInputError } from '../src/contracts/validation.js';
import {
  BUILD_PIPELINE_TYPE,
  buildExecutionKey,
  buildPipelineName,
  nodeExecutionRecordFromProgress,
  nodeExecutionRecords,
  nodePipelineType,
  type ExecutionRecord,
} from '../src/recording/records.js';
import { dbtNodeGroup, type NodeGroupInput } from './dbt-node-group.js';
import { BuildRecording } from './recording.js';
import { dbtTargetGuard } from './target-guard.js';

const { waitForWorkflowClose } = proxyActivities<WatcherActivities>({
  // A queued build waits for the lock at most as long as a build may run.
  startToCloseTimeout: BUILD_TIMEOUT_SECONDS * 1000,
  heartbeatTimeout: HEARTBEAT_TIMEOUT_SECONDS * 1000,
  retry: { maximumInterval: '1 minute' },
});
const { resolveBuildGraph, notifyConsumers } = proxyActivities<WatcherActivities>({
  // Independent: dbt ls of the largest projects, or notifying their consumers, takes minutes.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT_SECONDS * 1000,
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: FailuresNotRetried.dbtActivity },
});
const { runBuild } = proxyActivities<WatcherActivities>({
  startToCloseTimeout: BUILD_TIMEOUT_SECONDS * 1000,
  // With dbt's stop grace, it bounds how long dbt outlives a terminated build (TARGET_DRAIN_SECONDS).
  heartbeatTimeout: HEARTBEAT_TIMEOUT_SECONDS * 1000,
  // Wait for dbt to be stopped before the workflow moves on (the SDK's effective default is TRY_CANCEL).
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: FailuresNotRetried.dbtActivity },
});

export async function dbtBuild(rawInput: BuildInputRaw): Promise<BuildProgress> {
  let input: BuildInput;
  try {
    input = parseBuildInput(rawInput);
  } catch (err) {
    if (err instanceof InvalidInputError) throw ApplicationFailure.nonRetryable(err.message, FailureTypes.invalidInput);
    throw err;
  }
  const { workflowId, runId, startTime } = workflowInfo();
  const buildId = input.buildId ?? buildIdFromWorkflowId();
  const progress: BuildProgress = { buildId, phase: 'resolving', nodes: [], counts: {} };
  const byId = new Map<string, NodeProgress>();
  const planned = new Map<string, PlannedNode>();
  setHandler(progressQuery, () => withCounts(progress));
  upsertSearchAttributes([
    { key: SearchAttributes.buildId, value: buildId },
    { key: SearchAttributes.resourceType, value: 'build' },
    { key: SearchAttributes.status, value: 'running' },
  ]);

  // Records: the build's root execution, then one per node as its consumer ends.
  const recording = new BuildRecording();
  const buildKey = buildExecutionKey(workflowId, runId);
  let root: ExecutionRecord | undefined;
  const finishRecording = async (status: NodeStatus) => {
    if (!root) return;
    recording.add([
      {
        ...root,
        status: endedNodeStatus(status),
        endDate: new Date(Math.max(Date.now(), startTime.getTime())).toISOString(),
        totalRows: progress.nodes.reduce((sum, n) => sum + (n.rowsAffected ?? 0), 0),
        metadata: { ...root.metadata, invocation_id: progress.invocationId, dbt_exit_code: progress.dbtExitCode, counts: withCounts(progress).counts, error: progress.error },
        promoteWatermark: true,
      },
    ]);
    await CancellationScope.nonCancellable(() => recording.drain());
    progress.recordingFailures = recording.failures.length ? recording.failures : undefined;
  };

  // Node groups report how each consumer ended; the first report of a node counts.
  setHandler(nodesEndedSignal, (ends) => {
    for (const end of ends) {
      const p = byId.get(end.uniqueId);
      const node = planned.get(end.uniqueId);
      if (!p || !node || isTerminalNodeStatus(p.status)) continue;
      applyEnd(p, end);
      const ctx = { buildKey, uniqueId: node.uniqueId, resourceType: node.resourceType, config: node.config, atMs: Date.now() };
      recording.add(end.outcome ? nodeExecutionRecords(ctx, end.outcome) : [nodeExecutionRecordFromProgress(ctx, p)]);
    }
  });

  // The target lock, released once every node has ended (retries included).
  let guard: ChildWorkflowHandle<typeof dbtTargetGuard> | undefined;
  const releaseTarget = async () => {
    const held = guard;
    guard = undefined;
    if (held) {
      await CancellationScope.nonCancellable(async () => {
        await held.signal(releaseTargetSignal);
        await held.result();
      }).catch(() => undefined);
    }
  };

  let groupsEnded: Array<Promise<unknown>> = [];
  try {
    const plan = await resolveBuildGraph({ buildId, input });
    progress.projectName = plan.projectName;
    progress.dbtVersion = plan.dbtVersion;
    if (plan.nodes.length === 0) {
      throw ApplicationFailure.nonRetryable(
        `the selection matched no model, seed or snapshot in project ${plan.projectName}`,
        FailureTypes.nothingSelected,
      );
    }
    for (const n of plan.nodes) {
      const p: NodeProgress = { uniqueId: n.uniqueId, resourceType: n.resourceType, status: 'pending' };
      progress.nodes.push(p);
      byId.set(n.uniqueId, p);
      planned.set(n.uniqueId, n);
    }

    // Not awaited: recording never holds the build up, unless the build asks for its watermark.
    root = rootRecord(buildKey, buildPipelineName(input, plan.projectName), startTime, buildId, plan, input);
    const recordingStarted = recording.start({
      root,
      nextWatermark: input.nextWatermark,
      nodePipelines: plan.nodes.map((n) => ({ name: n.uniqueId, type: nodePipelineType(n.resourceType), config: n.config })),
      lineage: {
        addresses: plan.addresses,
        pipelines: plan.nodes
          .filter((n) => n.lineage.target)
          .map((n) => ({ pipelineName: n.uniqueId, pipelineType: nodePipelineType(n.resourceType), sources: n.lineage.sources, targets: [n.lineage.target!] })),
      },
    });
    if (input.nextWatermark !== undefined) {
      // dbt processes the range (watcher_watermark, watcher_next_watermark].
      const started = await recordingStarted;
      input = { ...input, vars: { ...input.vars, watcher_watermark: started?.watermark ?? null, watcher_next_watermark: input.nextWatermark } };
    }

    if (input.overlap !== 'allow') {
      progress.phase = 'queued';
      guard = await acquireTarget(plan, input);
    }

    progress.phase = 'starting';
    groupsEnded = (await startGroups(buildId, input, plan)).map((g) => g.result());

    progress.phase = 'building';
    try {
      const run = await runBuild({ buildId, input, consumers: plan.nodes.map((n) => ({ uniqueId: n.uniqueId, tests: n.tests })) });
      progress.invocationId = run.invocationId;
      progress.dbtExitCode = run.exitCode ?? undefined;
      progress.dbtExitedAtMs = run.dbtExitedAtMs;
    } catch (err) {
      if (isCancellation(err)) throw err;
      progress.error = failureMessage(err);
      // The build ended without reporting some nodes: no consumer may wait for it any longer.
      const open = progress.nodes.filter((n) => !isTerminalNodeStatus(n.status)).map((n) => n.uniqueId);
      await notifyConsumers({ buildId, uniqueIds: open, status: 'not_run', cause: `the dbt build failed: ${progress.error}`, retryable: false });
    }

    progress.phase = 'waiting_for_nodes';
    await Promise.all(groupsEnded);
    // Every node ended (retries included): nothing of this build writes to the target any more.
    await releaseTarget();
  } catch (err) {
    const canceled = isCancellation(err);
    progress.phase = canceled ? 'canceled' : 'failed';
    progress.error ??= failureMessage(err);
    upsertSearchAttributes([{ key: SearchAttributes.status, value: canceled ? 'canceled' : 'error' }]);
    // Consumers end canceled (or with their result) right after this build: wait, bounded,
    // so their records carry how they ended.
    if (groupsEnded.length) await CancellationScope.nonCancellable(() => Promise.race([Promise.allSettled(groupsEnded), sleep('1 minute')]));
    await releaseTarget();
    await finishRecording(canceled ? 'canceled' : 'error');
    throw err;
  }

  const summary = withCounts(progress);
  const failed = summary.nodes.filter((n) => !isPassingNodeStatus(n.status));
  const status: NodeStatus = failed.length > 0 || progress.error ? 'error' : summary.counts.warn ? 'warn' : 'success';
  upsertSearchAttributes([{ key: SearchAttributes.status, value: status }]);
  await finishRecording(status);
  if (progress.error) {
    progress.phase = 'failed';
    throw buildFailure(FailureTypes.dbtInvocation, progress.error, withCounts(progress));
  }
  if (failed.length > 0) {
    progress.phase = 'failed';
    const names = failed.slice(0, 10).map((n) => `${n.uniqueId} (${n.status})`).join(', ');
    throw buildFailure(
      FailureTypes.buildFailed,
      `${failed.length} of ${summary.nodes.length} nodes did not pass: ${names}${failed.length > 10 ? ', ...' : ''}`,
      withCounts(progress),
    );
  }
  progress.phase = 'succeeded';
  return withCounts(progress);
}

function rootRecord(buildKey: string, pipelineName: string, startTime: Date, buildId: string, plan: BuildPlan, input: BuildInput): ExecutionRecord {
  const { workflowId, runId } = workflowInfo();
  return {
    key: buildKey,
    pipeline: { name: pipelineName, type: BUILD_PIPELINE_TYPE },
    status: 'running',
    startDate: startTime.toISOString(),
    metadata: {
      build_id: buildId,
      workflow_id: workflowId,
      run_id: runId,
      project: plan.projectName,
      dbt_version: plan.dbtVersion,
      target: input.target,
      select: input.select,
      exclude: input.exclude,
      selector: input.selector,
      nodes: plan.nodes.length,
      tests: plan.testCount,
    },
  };
}

/**
 * One build at a time per (project, target): the guard child's workflow ID is the lock.
 * `queue` waits for the guard to close; `reject` fails at once. The guard is started out of
 * reach of this build's cancellation and outlives its termination, so the lock is only freed
 * once this build's dbt has stopped (see dbtTargetGuard).
 */
async function acquireTarget(plan: BuildPlan, input: BuildInput): Promise<ChildWorkflowHandle<typeof dbtTargetGuard>> {
  const workflowId = targetGuardWorkflowId(plan.targetKey);
  for (;;) {
    try {
      return await CancellationScope.nonCancellable(() =>
        startChild(dbtTargetGuard, {
          workflowId,
          args: [{ buildWorkflowId: workflowInfo().workflowId, projectDir: input.projectDir, target: input.target, drainSeconds: TARGET_DRAIN_SECONDS }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          staticSummary: `dbt target lock: ${plan.projectName} (target ${input.target ?? 'default'})`,
        }),
      );
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      if (input.overlap === 'reject') {
        throw ApplicationFailure.nonRetryable(
          `another build is running on ${input.projectDir} (target ${input.target ?? 'default'}); it holds ${workflowId}`,
          FailureTypes.buildOverlap,
        );
      }
      await waitForWorkflowClose({ workflowId });
    }
  }
}

/** Consumers go to node groups of at most `groupSize` (each group starts and watches its own). */
async function startGroups(buildId: string, input: BuildInput, plan: BuildPlan): Promise<Array<ChildWorkflowHandle<typeof dbtNodeGroup>>> {
  const rerun = rerunFlagsOf(input);
  const consumers: NodeGroupInput['consumers'] = plan.nodes.map((node) => {
    const nodeInput: NodeInputRaw = {
      buildId,
      node: {
        uniqueId: node.uniqueId,
        resourceType: node.resourceType,
        name: node.name,
        packageName: node.packageName,
        selector: node.selector,
        materialized: node.materialized,
        relation: node.lineage.target,
        upstream: node.upstream,
        tests: node.tests,
        ...(node.config?.active === false ? { active: false } : {}),
        ...(node.configError ? { configError: node.configError } : {}),
      },
      rerun,
      waitTimeoutSeconds: BUILD_WAIT_SECONDS,
    };
    return { input: nodeInput, staticSummary: `${node.resourceType} ${node.packageName}.${node.name}`, staticDetails: describeNode(buildId, node) };
  });
  const groups = Math.ceil(consumers.length / input.groupSize);
  const size = Math.ceil(consumers.length / groups); // even groups
  return Promise.all(
    Array.from({ length: groups }, (_, g) =>
      startChild(dbtNodeGroup, {
        workflowId: nodeGroupWorkflowId(buildId, g + 1),
        args: [
          {
            buildId,
            buildWorkflowId: workflowInfo().workflowId,
            group: g + 1,
            groups,
            consumers: consumers.slice(g * size, (g + 1) * size),
            retry: { maximumAttempts: input.nodeRetries + 1, initialIntervalMs: input.nodeRetryDelaySeconds * 1000 },
          },
        ],
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        staticSummary: `nodes of build ${buildId}: group ${g + 1} of ${groups}`,
      }),
    ),
  );
}

function applyEnd(p: NodeProgress, end: NodeEnd): void {
  p.status = end.status;
  p.attempt = end.attempt;
  p.failureType = end.failureType;
  p.message = end.message;
  const o = end.outcome;
  if (!o) return;
  p.rowsAffected = o.node.rowsAffected;
  p.executionTimeSeconds = o.node.executionTimeSeconds;
  if (o.tests.length) {
    const has = (s: string) => o.tests.filter((t) => t.status === s).length;
    const passed = has('pass') + has('success');
    p.tests = { total: o.tests.length, passed, warned: has('warn'), failed: o.tests.length - passed - has('warn') };
  }
}

function withCounts(progress: BuildProgress): BuildProgress {
  const counts: Partial<Record<NodeStatus, number>> = {};
  for (const n of progress.nodes) counts[n.status] = (counts[n.status] ?? 0) + 1;
  return { ...progress, counts };
}

function failureMessage(err: unknown): string {
  let e: unknown = err;
  // ActivityFailure / ChildWorkflowFailure wrap the failure that says what happened.
  while (e instanceof Error && 'cause' in e && e.cause instanceof Error && !(e instanceof ApplicationFailure)) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/** Build ID when none was given: from `watcher/<buildId>`, else the workflow ID itself, else the run ID. */
function buildIdFromWorkflowId(): string {
  const { workflowId, runId } = workflowInfo();
  const fromPrefix = workflowId.startsWith('watcher/') ? workflowId.slice('watcher/'.length) : workflowId;
  return BUILD_ID_PATTERN.test(fromPrefix) ? fromPrefix : runId;
}

function describeNode(buildId: string, node: PlannedNode): string {
  return [
    `**${node.resourceType}** \`${node.uniqueId}\``,
    `- build: \`watcher/${buildId}\``,
    node.materialized ? `- materialized: ${node.materialized}` : undefined,
    node.lineage.target ? `- relation: \`${node.lineage.target}\`` : undefined,
    `- tests: ${node.tests.length}`,
    `- upstream: ${node.upstream.length ? node.upstream.map((u) => `\`${u}\``).join(', ') : 'none'}`,
    `- rerun alone: \`dbt build --select ${node.selector}\``,
    node.config?.active === false ? '- **inactive** (`meta.watcher.active: false`)' : undefined,
    node.config?.owner ? `- owner: ${String(node.config.owner)}` : undefined,
    node.configError ? `- ignored settings: ${node.configError}` : undefined,
  ]
    .filter(Boolean)
    .join('\n');
}
