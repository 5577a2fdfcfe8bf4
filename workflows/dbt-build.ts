// Producer workflow `dbtBuild`: resolves the selected graph once, starts one `dbtNode`
// consumer per model, seed and snapshot (through node groups of at most `groupSize`), runs ONE
// build activity once they have all started (it reports each node to its consumer directly), then waits for every
// consumer and returns the per-node summary. It also owns the build's records and its target lock.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { RecordBuildStartResult, RunBuildResult, SourceFreshnessCheck, WatcherActivities } from '../activities/index.js';
import { parseBuildInput, rerunFlagsOf, sourceFreshnessMode, type BuildInput, type BuildInputRaw } from '../src/contracts/build-input.js';
import {
  consumersStartedSignal,
  nodesEndedSignal,
  progressQuery,
  releaseTargetSignal,
  type BuildPlan,
  type BuildProgress,
  type NodeEnd,
  type NodeProgress,
  type PlannedNode,
} from '../src/contracts/messages.js';
import { BUILD_ID_PATTERN, buildAlertsWorkflowId, nodeGroupWorkflowId, SearchAttributes, sourceFreshnessAlertsWorkflowId, targetGuardWorkflowId } from '../src/contracts/names.js';
import { isStaleSource, skippedNodesBySource, type StaleSkip } from '../src/contracts/source-freshness.js';
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
import { buildTriggerOf } from '../src/contracts/trigger.js';
import { InvalidInputError } from '../src/contracts/validation.js';
import { cut, failedNodesOf, failedTestsOf, isFailedNode, MAX_ALERT_MESSAGE, type BuildAlertsInput, type FailedTest } from '../src/monitoring/build-alerts.js';
import {
  BUILD_PIPELINE_TYPE,
  buildExecutionKey,
  buildPipelineName,
  nodeExecutionRecordFromProgress,
  nodeExecutionRecords,
  nodePipelineType,
  sourceFreshnessRecords,
  type ExecutionRecord,
} from '../src/recording/records.js';
import type { Alert } from '../src/monitoring/alerts.js';
import { dbtBuildAlerts } from './build-alerts.js';
import { CONSUMERS_STARTED_PATCH, dbtNodeGroup, PAYLOAD_BYTES_PATCH, type NodeGroupInput } from './dbt-node-group.js';
import { jsonBytes, PAYLOAD_BUDGET_BYTES, piecesOf, TASK_BUDGET_BYTES } from '../src/contracts/payload-size.js';
import { deliverAlerts } from './send-alerts.js';
import { BuildRecording } from './recording.js';
import { dbtTargetGuard } from './target-guard.js';
import { EXACT_TIMELINESS_BUILD_PATCH, TimelinessTimer } from './timeliness-timer.js';

/** The longest a build waits for its consumers to start before dbt runs anyway (thousands start in about a minute). */
const CONSUMERS_START_WAIT_MS = 10 * 60_000;
/**
 * Consumers per node group when the input does not say. Groups start their consumers in parallel
 * (each child start is recorded in its parent's history, one after another), so smaller groups
 * start a build's consumers sooner: 185 models in ~2.0 s in groups of 100 against ~2.8 s in
 * one group of 500. At the plan's ceiling (~2,300 consumers) that is 23 groups, whose reports
 * (at most ~400 each) stay under Temporal's 10,000 signals per workflow.
 */
const DEFAULT_GROUP_SIZE = 100;
/** The default before DEFAULT_GROUP_SIZE, for histories recorded before SMALLER_GROUPS_PATCH. */
const GROUP_SIZE_BEFORE_PATCH = 500;
const SMALLER_GROUPS_PATCH = 'groups-of-100';
/** The patch that added the post-build workflow (Build.startAlerts). */
const BUILD_ALERTS_PATCH = 'build-alerts';
/** The patch that records the build's trigger on its root execution (rootRecord). */
const BUILD_TRIGGER_PATCH = 'build-trigger';

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
const { checkSourceFreshness } = proxyActivities<WatcherActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT_SECONDS * 1000,
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { maximumAttempts: 2, nonRetryableErrorTypes: FailuresNotRetried.dbtActivity },
});
/** dbtBuild runs `dbt source freshness` first when its input asks (sourceFreshness). */
export const SOURCE_FRESHNESS_PATCH = 'watcher-source-freshness';
/** A build given nextWatermark fails when the store cannot give it its watermark (no silent full range). */
const WATERMARK_NEEDS_STORE_PATCH = 'watermark-needs-store';
/**
 * A build given nextWatermark that holds the target lock reads its watermark once it holds it (a
 * build it queued behind has promoted its range by then), and promotes its own before it releases it.
 */
const WATERMARK_UNDER_LOCK_PATCH = 'watermark-under-lock';

const { runBuild } = proxyActivities<WatcherActivities>({
  startToCloseTimeout: BUILD_TIMEOUT_SECONDS * 1000,
  // With dbt's stop grace, it bounds how long dbt outlives a terminated build (TARGET_DRAIN_SECONDS).
  heartbeatTimeout: HEARTBEAT_TIMEOUT_SECONDS * 1000,
  // Wait for dbt to be stopped before the workflow moves on (the SDK's effective default is TRY_CANCEL).
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: FailuresNotRetried.dbtActivity },
});

/**
 * The build, as its phases in order. Every `await` here waits on exactly the promise the phase
 * returns, so the Temporal commands (and their order within a workflow task) stay those of the
 * recorded histories: a phase that waits returns its promise instead of awaiting it itself.
 */
export async function dbtBuild(rawInput: BuildInputRaw): Promise<BuildProgress> {
  const build = new Build(validInput(rawInput));
  try {
    const plan = build.acceptPlan(await build.resolvePlan());
    const recordingStarted = build.recordStart(plan);
    build.watchTimeliness(recordingStarted);
    if (build.asksForWatermark()) build.useWatermark(await recordingStarted);
    if (build.locksTarget()) build.holdTarget(await build.acquireTarget(plan));
    if (build.takesWatermarkUnderLock()) build.useWatermarkUnderLock(await build.takeWatermark());
    build.watchConsumers(await build.startConsumers(plan));
    if (build.checksSourceFreshness()) await build.alertApart(build.sourceFreshnessChecked(await build.checkSourceFreshness(plan)));
    if (build.waitsForConsumers()) build.consumersWaited(await build.consumersStarted());
    try {
      build.dbtEnded(await build.runDbt(plan));
    } catch (err) {
      if (isCancellation(err)) throw err;
      await build.endUnreportedConsumers(err);
    }
    await build.consumersEnded();
    if (!build.promotesUnderLock()) await build.releaseTarget();
  } catch (err) {
    const status = build.failed(err);
    if (build.startedConsumers()) await build.letConsumersEnd();
    await build.releaseTarget();
    await build.finishRecording(status);
    await build.startAlerts(status);
    throw err;
  }
  const ending = build.ending();
  await build.finishRecording(ending.status);
  // A build that took its watermark under the lock promotes its range before it lets the lock go.
  if (build.promotesUnderLock()) await build.releaseTarget();
  await build.startAlerts(ending.status);
  return build.result(ending);
}

/** A bad input is a non-retryable failure that names the field. */
function validInput(rawInput: BuildInputRaw): BuildInput {
  try {
    return parseBuildInput(rawInput);
  } catch (err) {
    if (err instanceof InvalidInputError) throw ApplicationFailure.nonRetryable(err.message, FailureTypes.invalidInput);
    throw err;
  }
}

/** How a build that ran to its end ended: its status, the nodes that did not pass, of how many. */
interface BuildEnding {
  status: NodeStatus;
  failed: NodeProgress[];
  nodes: number;
}

/** The state of one build (its progress, records, target lock and consumers) and its phases. */
class Build {
  private input: BuildInput;
  private readonly buildId: string;
  private readonly startTime: Date;
  private readonly progress: BuildProgress;
  private readonly byId = new Map<string, NodeProgress>();
  private readonly planned = new Map<string, PlannedNode>();
  private readonly recording: BuildRecording;
  private readonly buildKey: string;
  /** The build's root execution, once the plan names its project. */
  private root: ExecutionRecord | undefined;
  /** The target lock, held from acquireTarget until releaseTarget. */
  private guard: ChildWorkflowHandle<typeof dbtTargetGuard> | undefined;
  /** One promise per node group: it settles when every consumer of the group has ended. */
  private groupsEnded: Array<Promise<unknown>> = [];
  /** Exact timeliness (patched): the build's own timer, and its consumers' (their inputs carry the build's key). */
  private timeliness: TimelinessTimer | undefined;
  /** Nodes left out of dbt's build because everything they read is stale (skip-stale). */
  private staleSkips: StaleSkip[] = [];
  /** The failed tests of each failed node, for its alert. */
  private readonly failedTests = new Map<string, FailedTest[]>();
  /** Whether the build took its watermark under the target lock (patched), so promotes it under the lock too. */
  private watermarkUnderLock = false;
  /** The node groups that said every consumer of theirs has started (consumersStartedSignal). */
  private readonly groupsStarted = new Set<number>();

  /** Before the first activity: the progress query, the groups' reports and the build's search attributes. */
  constructor(input: BuildInput) {
    this.input = input;
    const { workflowId, runId, startTime } = workflowInfo();
    this.startTime = startTime;
    this.buildId = input.buildId ?? buildIdFromWorkflowId();
    this.progress = { buildId: this.buildId, phase: 'resolving', nodes: [], counts: {} };
    setHandler(progressQuery, () => withCounts(this.progress));
    upsertSearchAttributes([
      { key: SearchAttributes.buildId, value: this.buildId },
      { key: SearchAttributes.resourceType, value: 'build' },
      { key: SearchAttributes.status, value: 'running' },
      // Only for scheduled builds: the same single upsert command as before, so recorded histories replay.
      ...(input.schedule !== undefined ? [{ key: SearchAttributes.schedule, value: input.schedule }] : []),
    ]);
    // Records: the build's root execution, then one per node as its consumer ends.
    this.recording = new BuildRecording();
    this.buildKey = buildExecutionKey(workflowId, runId);
    setHandler(nodesEndedSignal, (ends) => this.nodesEnded(ends));
    setHandler(consumersStartedSignal, ({ group }) => void this.groupsStarted.add(group));
  }

  /** Node groups report how each consumer ended; the first report of a node counts. */
  private nodesEnded(ends: NodeEnd[]): void {
    for (const end of ends) {
      const p = this.byId.get(end.uniqueId);
      const node = this.planned.get(end.uniqueId);
      if (!p || !node || isTerminalNodeStatus(p.status)) continue;
      applyEnd(p, end);
      if (end.outcome && isFailedNode(end.status)) this.failedTests.set(end.uniqueId, failedTestsOf(end.outcome));
      const ctx = { buildKey: this.buildKey, uniqueId: node.uniqueId, resourceType: node.resourceType, config: node.config, atMs: Date.now() };
      this.recording.add(end.outcome ? nodeExecutionRecords(ctx, end.outcome) : [nodeExecutionRecordFromProgress(ctx, p)]);
    }
  }

  /** Plan: dbt's own selection resolves the graph once; everything after works from the plan. */
  resolvePlan(): Promise<BuildPlan> {
    return resolveBuildGraph({ buildId: this.buildId, input: this.input });
  }

  /** After resolvePlan: one progress entry per node (reports of unplanned nodes are ignored). */
  acceptPlan(plan: BuildPlan): BuildPlan {
    this.progress.projectName = plan.projectName;
    this.progress.dbtVersion = plan.dbtVersion;
    if (plan.nodes.length === 0) {
      throw ApplicationFailure.nonRetryable(
        `the selection matched no model, seed or snapshot in project ${plan.projectName}`,
        FailureTypes.nothingSelected,
      );
    }
    for (const n of plan.nodes) {
      const p: NodeProgress = { uniqueId: n.uniqueId, resourceType: n.resourceType, status: 'pending' };
      this.progress.nodes.push(p);
      this.byId.set(n.uniqueId, p);
      this.planned.set(n.uniqueId, n);
    }
    return plan;
  }

  /**
   * Record start, after the plan (it names the project, nodes and lineage). Not awaited:
   * recording never holds the build up, unless the build asks for its watermark.
   */
  recordStart(plan: BuildPlan): Promise<RecordBuildStartResult | undefined> {
    this.root = rootRecord(this.buildKey, buildPipelineName(this.input, plan.projectName), this.startTime, this.buildId, plan, this.input);
    return this.recording.start({
      root: this.root,
      nextWatermark: this.input.nextWatermark,
      nodePipelines: plan.nodes.map((n) => ({ name: n.uniqueId, type: nodePipelineType(n.resourceType), config: n.config })),
      lineage: {
        addresses: plan.addresses,
        pipelines: plan.nodes
          .filter((n) => n.lineage.target)
          .map((n) => ({ pipelineName: n.uniqueId, pipelineType: nodePipelineType(n.resourceType), sources: n.lineage.sources, targets: [n.lineage.target!] })),
      },
    });
  }

  /**
   * After recordStart, not awaited: once the store says the build pipeline's threshold (its own or
   * its type's, unless muted), a durable timer alerts at the moment the build runs past it.
   */
  watchTimeliness(started: Promise<RecordBuildStartResult | undefined>): void {
    if (!patched(EXACT_TIMELINESS_BUILD_PATCH)) return;
    const root = this.root!;
    this.timeliness = new TimelinessTimer();
    this.timeliness.arm(async () => {
      const settings = (await started)?.timeliness;
      return settings ? { pipelineName: root.pipeline.name, executionKey: root.key, startedAt: this.startTime, settings } : undefined;
    });
  }

  asksForWatermark(): boolean {
    return this.input.nextWatermark !== undefined;
  }

  /** After recordStart, before dbt runs: dbt processes the range (watcher_watermark, watcher_next_watermark]. */
  useWatermark(started: RecordBuildStartResult | undefined): void {
    // Without the store there is no watermark to start from: dbt would process everything up to
    // nextWatermark while the caller asked for one range. Say so instead.
    if (!started?.recorded && patched(WATERMARK_NEEDS_STORE_PATCH)) {
      throw ApplicationFailure.nonRetryable(
        `nextWatermark was given, but the build's watermark could not be read: ${this.recording.failures[0] ?? 'no metadata database is configured (DATABASE_URL)'}; nothing was run`,
        FailureTypes.watermarkUnavailable,
      );
    }
    this.processRange(started?.watermark ?? null);
  }

  /** dbt processes (watermark, nextWatermark]. */
  private processRange(watermark: string | null): void {
    this.input = { ...this.input, vars: { ...this.input.vars, watcher_watermark: watermark, watcher_next_watermark: this.input.nextWatermark } };
  }

  /**
   * After acquireTarget, before consumers start (their reruns take the build's vars): whether the
   * build takes its watermark again, now that it holds the lock. Patched: builds recorded before
   * run on the watermark they read at their start.
   */
  takesWatermarkUnderLock(): boolean {
    this.watermarkUnderLock = this.guard !== undefined && this.asksForWatermark() && patched(WATERMARK_UNDER_LOCK_PATCH);
    return this.watermarkUnderLock;
  }

  /** The watermark now, recorded on the build's root; without it the build fails before dbt runs. */
  takeWatermark(): Promise<{ watermark: string | null }> {
    return this.recording.takeWatermark({ executionKey: this.root!.key, nextWatermark: this.input.nextWatermark! }).catch((err: unknown) => {
      if (isCancellation(err)) throw err;
      throw ApplicationFailure.nonRetryable(
        `nextWatermark was given, but the build's watermark could not be read once it held the target: ${failureMessage(err)}; nothing was run`,
        FailureTypes.watermarkUnavailable,
      );
    });
  }

  useWatermarkUnderLock({ watermark }: { watermark: string | null }): void {
    this.processRange(watermark);
  }

  /** Whether the build keeps the target lock until its range is promoted (finishRecording). */
  promotesUnderLock(): boolean {
    return this.watermarkUnderLock;
  }

  locksTarget(): boolean {
    return this.input.overlap !== 'allow';
  }

  /** Before any consumer starts: one build at a time writes a (project, target). */
  acquireTarget(plan: BuildPlan): Promise<ChildWorkflowHandle<typeof dbtTargetGuard>> {
    this.progress.phase = 'queued';
    return lockTarget(plan, this.input);
  }

  holdTarget(guard: ChildWorkflowHandle<typeof dbtTargetGuard>): void {
    this.guard = guard;
  }

  /** Start consumers before dbt runs: the build activity reports each node to its consumer. */
  startConsumers(plan: BuildPlan): Promise<Array<ChildWorkflowHandle<typeof dbtNodeGroup>>> {
    this.progress.phase = 'starting';
    return startGroups(this.buildId, this.input, plan, this.timeliness ? this.buildKey : undefined);
  }

  watchConsumers(groups: Array<ChildWorkflowHandle<typeof dbtNodeGroup>>): void {
    this.groupsEnded = groups.map((g) => g.result());
  }

  startedConsumers(): boolean {
    return this.groupsEnded.length > 0;
  }

  /** Only when the input asks; builds that never asked replay as they ran. */
  checksSourceFreshness(): boolean {
    return sourceFreshnessMode(this.input) !== 'off' && patched(SOURCE_FRESHNESS_PATCH);
  }

  /**
   * Before dbt builds, with the consumers waiting: `dbt source freshness` of the sources the plan
   * reads (no dbt at all when it reads none). Whatever goes wrong short of a cancellation is a
   * warning, and the build builds everything.
   */
  checkSourceFreshness(plan: BuildPlan): Promise<SourceFreshnessCheck> {
    if (!plan.sources) return Promise.resolve({ results: [], skips: [], alerts: [], warnings: ['the selected nodes read no dbt source: nothing to check'] });
    return checkSourceFreshness({ buildId: this.buildId, input: this.input, sources: plan.sources, consumers: plan.nodes.map((n) => n.uniqueId) }).catch((err: unknown) => {
      if (isCancellation(err)) throw err;
      return { results: [], skips: [], alerts: [], warnings: [`the source freshness check failed, so every node is built: ${failureMessage(err)}`] };
    });
  }

  /** After checkSourceFreshness: its summary in the progress, one record per source, the nodes to leave out; returns the alerts. */
  sourceFreshnessChecked(check: SourceFreshnessCheck): Alert[] {
    const mode = sourceFreshnessMode(this.input) === 'skip-stale' ? 'skip-stale' : 'warn';
    this.staleSkips = check.skips;
    const ids = (f: (r: SourceFreshnessCheck['results'][number]) => boolean) => check.results.filter(f).map((r) => r.uniqueId);
    this.progress.sourceFreshness = {
      mode,
      ...(check.invocationId ? { invocationId: check.invocationId } : {}),
      checked: check.results.length,
      stale: ids(isStaleSource),
      warn: ids((r) => r.status === 'warn'),
      failed: ids((r) => r.status === 'runtime error'),
      skipped: check.skips.map((s) => s.uniqueId),
      ...(check.warnings.length ? { warnings: check.warnings } : {}),
    };
    for (const w of check.warnings) log.warn(`build ${this.buildId}: source freshness: ${w}`);
    if (check.results.length) this.recording.add(sourceFreshnessRecords(this.buildKey, check.results, skippedNodesBySource(check.skips), Date.now()));
    return check.alerts;
  }

  /**
   * Stale sources are alerted by a workflow of their own that outlives this build: the build
   * never waits for a receiver, and no alert is lost with it. Started once per build ID.
   */
  async alertApart(alerts: Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    try {
      await startChild(deliverAlerts, {
        workflowId: sourceFreshnessAlertsWorkflowId(this.buildId),
        args: [alerts],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `alerts of build ${this.buildId}: ${alerts.length} stale source(s)`,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      const warning = `stale sources not alerted: ${failureMessage(err)}`;
      log.warn(`build ${this.buildId}: ${warning}`);
      const summary = this.progress.sourceFreshness;
      if (summary) summary.warnings = [...(summary.warnings ?? []), warning];
    }
  }

  /**
   * Before dbt runs (patched; builds recorded before it ran dbt while their consumers started):
   * whether the build waits until every consumer has started.
   */
  waitsForConsumers(): boolean {
    return patched(CONSUMERS_STARTED_PATCH);
  }

  /**
   * Every group says when all its consumers have started: then every node is in the Temporal UI
   * before dbt starts, and no report of dbt's waits for its consumer to exist. Starting them costs
   * the same either way; while dbt runs beside it, the starts and dbt slow each other down.
   * Bounded: a group that ended (it failed to start a consumer) ends the wait, and so does
   * CONSUMERS_START_WAIT_MS (a group on an older worker that never says so). Resolves to whether
   * every group said so.
   */
  consumersStarted(): Promise<boolean> {
    let groupEnded = false;
    for (const ended of this.groupsEnded) ended.then(() => (groupEnded = true), () => (groupEnded = true));
    const groups = this.groupsEnded.length;
    return condition(() => this.groupsStarted.size >= groups || groupEnded, CONSUMERS_START_WAIT_MS).then(() => this.groupsStarted.size >= groups);
  }

  consumersWaited(allStarted: boolean): void {
    if (!allStarted) log.warn(`build ${this.buildId}: dbt runs before every consumer has started (${this.groupsStarted.size} of ${this.groupsEnded.length} groups said so)`);
  }

  /** Run dbt, once its consumers wait: ONE `dbt build` for the whole plan (minus stale skips). */
  runDbt(plan: BuildPlan): Promise<RunBuildResult> {
    this.progress.phase = 'building';
    return runBuild({
      buildId: this.buildId,
      input: this.input,
      consumers: plan.nodes.map((n) => ({ uniqueId: n.uniqueId, tests: n.tests })),
      ...(this.staleSkips.length ? { staleSkips: this.staleSkips } : {}),
    });
  }

  dbtEnded(run: RunBuildResult): void {
    this.progress.invocationId = run.invocationId;
    this.progress.dbtExitCode = run.exitCode ?? undefined;
    this.progress.dbtExitedAtMs = run.dbtExitedAtMs;
  }

  /** After runDbt failed: the build ended without reporting some nodes, so no consumer may wait for it any longer. */
  endUnreportedConsumers(err: unknown): Promise<unknown> {
    this.progress.error = failureMessage(err);
    const open = this.progress.nodes.filter((n) => !isTerminalNodeStatus(n.status)).map((n) => n.uniqueId);
    return notifyConsumers({ buildId: this.buildId, uniqueIds: open, status: 'not_run', cause: `the dbt build failed: ${this.progress.error}`, retryable: false });
  }

  /** After dbt: consumers end with its reports, or after their own retries (reruns). */
  consumersEnded(): Promise<unknown[]> {
    this.progress.phase = 'waiting_for_nodes';
    return Promise.all(this.groupsEnded);
  }

  /**
   * Once every node ended (retries included), or the build failed: nothing of this build writes to
   * the target any more. Non-cancellable, so a canceled build still frees its lock.
   */
  async releaseTarget(): Promise<void> {
    const held = this.guard;
    this.guard = undefined;
    if (held) {
      await CancellationScope.nonCancellable(async () => {
        await held.signal(releaseTargetSignal);
        await held.result();
      }).catch(() => undefined);
    }
  }

  /** The failure path: the build failed or was canceled; says how, and returns the status to record. */
  failed(err: unknown): NodeStatus {
    const canceled = isCancellation(err);
    this.progress.phase = canceled ? 'canceled' : 'failed';
    this.progress.error ??= failureMessage(err);
    upsertSearchAttributes([{ key: SearchAttributes.status, value: canceled ? 'canceled' : 'error' }]);
    return canceled ? 'canceled' : 'error';
  }

  /**
   * After failed, before finishRecording: consumers end canceled (or with their result) right after
   * this build; wait, bounded (independent of other timings), so their records carry how they ended.
   */
  letConsumersEnd(): Promise<unknown> {
    return CancellationScope.nonCancellable(() => Promise.race([Promise.allSettled(this.groupsEnded), sleep('1 minute')]));
  }

  /**
   * After every node ended: the build's status, from its nodes and dbt's own failure. A node left
   * out on purpose (stale sources) is no failure: the build says `warn`.
   */
  ending(): BuildEnding {
    const summary = withCounts(this.progress);
    const leftOut = new Set(this.staleSkips.map((s) => s.uniqueId));
    const failed = summary.nodes.filter((n) => !isPassingNodeStatus(n.status) && !(n.status === 'skipped' && leftOut.has(n.uniqueId)));
    const status: NodeStatus = failed.length > 0 || this.progress.error ? 'error' : summary.counts.warn || leftOut.size ? 'warn' : 'success';
    upsertSearchAttributes([{ key: SearchAttributes.status, value: status }]);
    return { status, failed, nodes: summary.nodes.length };
  }

  /** Last, on every path: the root's end, then every record drained (non-cancellable). */
  async finishRecording(status: NodeStatus): Promise<void> {
    const root = this.root;
    if (!root) return;
    const progress = this.progress;
    const endDate = new Date(Math.max(Date.now(), this.startTime.getTime()));
    // No await without the patch: unpatched histories keep their exact order of commands.
    const watched = this.timeliness ? await this.timeliness.stop({ endDate, succeeded: isPassingNodeStatus(status) }) : false;
    this.recording.add([
      {
        ...root,
        status: endedNodeStatus(status),
        endDate: endDate.toISOString(),
        totalRows: progress.nodes.reduce((sum, n) => sum + (n.rowsAffected ?? 0), 0),
        metadata: {
          ...root.metadata,
          invocation_id: progress.invocationId,
          dbt_exit_code: progress.dbtExitCode,
          counts: withCounts(progress).counts,
          error: progress.error,
          source_freshness: progress.sourceFreshness,
        },
        promoteWatermark: true,
        ...(watched ? { timelinessWatched: true } : {}),
      },
    ]);
    await CancellationScope.nonCancellable(() => this.recording.drain());
    progress.recordingFailures = this.recording.failures.length ? this.recording.failures : undefined;
  }

  /**
   * After finishRecording (the root's end is stored), unless the build was canceled: the post-build
   * workflow (failure alerts, anomaly detection), abandoned so that it never holds this build open.
   * Patched, so histories recorded before it replay without it.
   */
  async startAlerts(status: NodeStatus): Promise<void> {
    if (status === 'canceled' || !patched(BUILD_ALERTS_PATCH)) return;
    const { workflowId, runId } = workflowInfo();
    const progress = withCounts(this.progress);
    const input: BuildAlertsInput = {
      buildId: this.buildId,
      workflowId,
      runId,
      project: progress.projectName,
      target: this.input.target,
      pipeline: this.root?.pipeline.name,
      status,
      error: progress.error === undefined ? undefined : cut(progress.error, MAX_ALERT_MESSAGE),
      nodes: progress.nodes.length,
      counts: progress.counts,
      ...failedNodesOf(progress.nodes, this.planned, this.failedTests),
      endedAt: new Date().toISOString(),
    };
    await CancellationScope.nonCancellable(() =>
      startChild(dbtBuildAlerts, {
        workflowId: buildAlertsWorkflowId(this.buildId, runId),
        args: [input],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `alerts and anomaly detection of build ${this.buildId}`,
      }),
    ).catch((err: unknown) => log.warn(`the alerts of build ${this.buildId} were not started: ${failureMessage(err)}`));
  }

  /** After ending and finishRecording: the per-node summary, or the failure that carries it. */
  result({ failed, nodes }: BuildEnding): BuildProgress {
    if (this.progress.error) {
      this.progress.phase = 'failed';
      throw buildFailure(FailureTypes.dbtInvocation, this.progress.error, withCounts(this.progress));
    }
    if (failed.length > 0) {
      this.progress.phase = 'failed';
      const names = failed.slice(0, 10).map((n) => `${n.uniqueId} (${n.status})`).join(', ');
      throw buildFailure(
        FailureTypes.buildFailed,
        `${failed.length} of ${nodes} nodes did not pass: ${names}${failed.length > 10 ? ', ...' : ''}`,
        withCounts(this.progress),
      );
    }
    this.progress.phase = 'succeeded';
    return withCounts(this.progress);
  }
}

function rootRecord(buildKey: string, pipelineName: string, startTime: Date, buildId: string, plan: BuildPlan, input: BuildInput): ExecutionRecord {
  const { workflowId, runId, memo } = workflowInfo();
  // What started it (CLI, schedule, API), from its memo; patched, so earlier histories replay as they were.
  const trigger = patched(BUILD_TRIGGER_PATCH) ? buildTriggerOf(memo, input) : undefined;
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
      schedule: input.schedule,
      ...(trigger !== undefined ? { trigger } : {}),
    },
  };
}

/**
 * One build at a time per (project, target): the guard child's workflow ID is the lock.
 * `queue` waits for the guard to close; `reject` fails at once. The guard is started out of
 * reach of this build's cancellation and outlives its termination, so the lock is only freed
 * once this build's dbt has stopped (see dbtTargetGuard).
 */
async function lockTarget(plan: BuildPlan, input: BuildInput): Promise<ChildWorkflowHandle<typeof dbtTargetGuard>> {
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

/**
 * Consumers go to node groups of at most `groupSize` (each group starts and watches its own).
 * With the payload patch, a group's input also stays under PAYLOAD_BUDGET_BYTES (the build's dbt
 * flags go in it once, not once per consumer), and the groups are started in workflow tasks of at
 * most TASK_BUDGET_BYTES of inputs: up to the plan's ceiling (MAX_PLAN_BYTES), no size of project or vars meets Temporal's payload limits.
 */
async function startGroups(buildId: string, input: BuildInput, plan: BuildPlan, buildKey?: string): Promise<Array<ChildWorkflowHandle<typeof dbtNodeGroup>>> {
  const byBytes = patched(PAYLOAD_BYTES_PATCH);
  const rerun = rerunFlagsOf(input);
  const consumers: NodeGroupInput['consumers'] = plan.nodes.map((node) => {
    const nodeInput: NodeGroupInput['consumers'][number]['input'] = {
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
        ...(buildKey !== undefined && node.config?.timeliness ? { timeliness: node.config.timeliness } : {}),
        ...(buildKey !== undefined && node.config?.mute_timeliness_check ? { muteTimeliness: true } : {}),
      },
      ...(buildKey !== undefined ? { buildKey } : {}),
      ...(byBytes ? {} : { rerun }),
      waitTimeoutSeconds: BUILD_WAIT_SECONDS,
    };
    return { input: nodeInput, staticSummary: `${node.resourceType} ${node.packageName}.${node.name}`, staticDetails: describeNode(buildId, node) };
  });
  const groupSize = input.groupSize ?? (patched(SMALLER_GROUPS_PATCH) ? DEFAULT_GROUP_SIZE : GROUP_SIZE_BEFORE_PATCH);
  const count = Math.ceil(consumers.length / groupSize);
  const size = Math.ceil(consumers.length / count); // even groups
  const members = byBytes
    ? piecesOf(consumers, size, PAYLOAD_BUDGET_BYTES - jsonBytes(rerun), jsonBytes)
    : Array.from({ length: count }, (_, g) => consumers.slice(g * size, (g + 1) * size));
  const groups: NodeGroupInput[] = members.map((groupConsumers, g) => ({
    buildId,
    buildWorkflowId: workflowInfo().workflowId,
    group: g + 1,
    groups: members.length,
    consumers: groupConsumers,
    ...(byBytes ? { rerun } : {}),
    retry: { maximumAttempts: input.nodeRetries + 1, initialIntervalMs: input.nodeRetryDelaySeconds * 1000 },
  }));
  const start = (group: NodeGroupInput) =>
    startChild(dbtNodeGroup, {
      workflowId: nodeGroupWorkflowId(buildId, group.group),
      args: [group],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      staticSummary: `nodes of build ${buildId}: group ${group.group} of ${group.groups}`,
    });
  if (!byBytes) return Promise.all(groups.map(start));
  const handles: Array<ChildWorkflowHandle<typeof dbtNodeGroup>> = [];
  for (const chunk of piecesOf(groups, groups.length, TASK_BUDGET_BYTES, jsonBytes)) handles.push(...(await Promise.all(chunk.map(start))));
  return handles;
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
