// The outcome module: what a node's outcome means. dbt's per-result statuses -> a consumer's
// status (`DbtStatus`), the ApplicationFailure type a failed consumer ends with, which failures
// must not be retried, what a failure carries (and how it is read back), and the status an
// ended node is recorded with.
// Pure and deterministic (workflow-safe): used by the activities, the workflows, the client,
// the CLI and the tests.
import { ApplicationFailure } from '@temporalio/common';
import type { BuildProgress, NodeOutcome } from './messages.js';

/** A consumer's status, also the `DbtStatus` search attribute. */
export const NODE_STATUSES = [
  'pending',
  'running',
  'success',
  'warn',
  'error',
  'fail',
  'skipped',
  'not_run',
  'canceled',
] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

/**
 * The status of ONE dbt result (a model, seed, snapshot or test), normalised from dbt's
 * `run_result.status`. dbt's own values kept as they are, plus `not_run` (dbt never ran it)
 * and `canceled` (the build was canceled before it finished).
 */
export type ResultStatus = 'success' | 'pass' | 'warn' | 'error' | 'fail' | 'skipped' | 'not_run' | 'canceled';

/** ApplicationFailure types a consumer (or the producer) fails with: one per cause. */
export const FailureTypes = {
  nodeError: 'NodeError',
  testFailed: 'TestFailed',
  testError: 'TestError',
  nodeSkipped: 'NodeSkipped',
  nodeNotRun: 'NodeNotRun',
  upstreamFailed: 'UpstreamFailed',
  nodeCanceled: 'NodeCanceled',
  buildFailed: 'BuildFailed',
  invalidInput: 'InvalidInput',
  dbtInvocation: 'DbtInvocationError',
  nothingSelected: 'NothingSelected',
  recording: 'RecordingError',
  buildOverlap: 'BuildOverlap',
  watermarkUnavailable: 'WatermarkUnavailable',
  planTooLarge: 'PlanTooLarge',
} as const;
export type FailureType = (typeof FailureTypes)[keyof typeof FailureTypes];

/**
 * Failure types a retry cannot fix, per kind of retried work (each retry policy's
 * `nonRetryableErrorTypes`). Everything else is retried: a lost worker, a Temporal or
 * Postgres outage.
 */
export const FailuresNotRetried = {
  /** Activities that run dbt or tell its consumers: a bad input, or a dbt that failed (it fails alike again). */
  dbtActivity: [FailureTypes.dbtInvocation, FailureTypes.invalidInput],
  /** A consumer workflow: a bad input, an upstream that failed, a node the build canceled. */
  consumer: [FailureTypes.invalidInput, FailureTypes.upstreamFailed, FailureTypes.nodeCanceled],
  /** Recording activities: what the store rejects; Postgres being away is retried until it answers. */
  recordingActivity: [FailureTypes.recording],
} satisfies Record<string, FailureType[]>;

const FAIL_FAST_MESSAGE = /fail[_ -]?fast/i;

/**
 * Normalise dbt's `run_result.status` (event or run_results.json). `skipped` because of
 * `--fail-fast` means dbt never ran the node: that is `not_run`, not an upstream skip.
 */
export function normalizeDbtStatus(raw: string, message?: string | null): ResultStatus {
  switch (raw) {
    case 'success':
    case 'no-op':
      return 'success';
    case 'pass':
      return 'pass';
    case 'warn':
      return 'warn';
    case 'fail':
      return 'fail';
    case 'skipped':
      return message && FAIL_FAST_MESSAGE.test(message) ? 'not_run' : 'skipped';
    case 'error':
    case 'runtime error':
    case 'partial success':
      return 'error';
    default:
      // started/compiling/executing never end a node; anything unknown is treated as an error
      // so a new dbt status can never turn a failed node green.
      return 'error';
  }
}

/**
 * How one source's freshness check is recorded (an execution of its `dbt_source` pipeline):
 * pass is a success, warn a warning, stale (dbt's `error`) a failed check like a failed test,
 * and a freshness that could not be computed (`runtime error`) an error.
 */
export function sourceFreshnessExecutionStatus(dbtStatus: string): 'success' | 'warn' | 'fail' | 'error' {
  switch (dbtStatus) {
    case 'pass':
      return 'success';
    case 'warn':
      return 'warn';
    case 'error':
      return 'fail';
    default:
      return 'error';
  }
}

export function isTerminalNodeStatus(status: NodeStatus): boolean {
  return status !== 'pending' && status !== 'running';
}

/** A status something can end with. */
export type EndedNodeStatus = Exclude<NodeStatus, 'pending' | 'running'>;

/**
 * The status a consumer (or a build) is recorded with once it is over: one that never got a
 * result (still pending or running) counts as `not_run`.
 */
export function endedNodeStatus(status: NodeStatus): EndedNodeStatus {
  return status === 'pending' || status === 'running' ? 'not_run' : status;
}

/** Consumer statuses that end the consumer Completed. */
export function isPassingNodeStatus(status: NodeStatus): boolean {
  return status === 'success' || status === 'warn';
}

/** Result statuses of a node or test that did its work (a resumed build does not run it again). */
export function isPassingResultStatus(status: ResultStatus): boolean {
  return status === 'success' || status === 'pass' || status === 'warn';
}

/** Result statuses of a node or test that ran and failed (dbt skips what depends on it). */
export function isFailedResultStatus(status: ResultStatus): boolean {
  return status === 'error' || status === 'fail';
}

export interface ResultLike {
  status: ResultStatus;
}

export interface ConsumerVerdict {
  status: NodeStatus;
  /** Set when the consumer must fail. */
  failureType?: FailureType;
}

/**
 * A consumer's verdict from its node's result and its tests' results.
 * The node decides first (error, skipped, not run); then the worst test.
 */
export function consumerVerdict(node: ResultLike, tests: readonly ResultLike[]): ConsumerVerdict {
  switch (node.status) {
    case 'error':
    case 'fail':
      return { status: 'error', failureType: FailureTypes.nodeError };
    case 'skipped':
      return { status: 'skipped', failureType: FailureTypes.nodeSkipped };
    case 'not_run':
      return { status: 'not_run', failureType: FailureTypes.nodeNotRun };
    case 'canceled':
      return { status: 'canceled' };
    default:
      break;
  }
  const testStatuses = new Set(tests.map((t) => t.status));
  if (testStatuses.has('error')) return { status: 'error', failureType: FailureTypes.testError };
  if (testStatuses.has('fail')) return { status: 'fail', failureType: FailureTypes.testFailed };
  if (testStatuses.has('skipped')) return { status: 'skipped', failureType: FailureTypes.nodeSkipped };
  if (testStatuses.has('not_run')) return { status: 'not_run', failureType: FailureTypes.nodeNotRun };
  if (testStatuses.has('canceled')) return { status: 'canceled' };
  if (node.status === 'warn' || testStatuses.has('warn')) return { status: 'warn' };
  return { status: 'success' };
}

/**
 * The status of a consumer that failed without an outcome (it never got a report): an
 * upstream that failed means it was skipped; anything else is an error.
 */
export function statusOfFailureWithoutOutcome(failureType: string | undefined): NodeStatus {
  return failureType === FailureTypes.upstreamFailed ? 'skipped' : 'error';
}

// What a failure carries: a failed consumer its outcome, a failed build its per-node summary.
// Packed and read back only here, so both ends agree on the shape.

/** A consumer's failure: its verdict's type, carrying its outcome. */
export function nodeFailure(type: FailureType, message: string, outcome: NodeOutcome, nonRetryable: boolean): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable, details: [outcome] });
}

/** A build's failure (never retried: a retry would run the whole build again), carrying its summary. */
export function buildFailure(type: FailureType, message: string, progress: BuildProgress): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: [progress] });
}

/** The outcome a failed consumer carries (absent when it failed before it had one). */
export function nodeOutcomeOfFailure(failure: unknown): NodeOutcome | undefined {
  const carried = firstDetailOf(failure);
  if (!isObject(carried) || typeof carried.uniqueId !== 'string' || typeof carried.status !== 'string' || !isObject(carried.node)) return undefined;
  return carried as unknown as NodeOutcome;
}

/** The per-node summary a failed build carries (absent when it failed before it had one). */
export function buildProgressOfFailure(failure: unknown): BuildProgress | undefined {
  const carried = firstDetailOf(failure);
  if (!isObject(carried) || !Array.isArray(carried.nodes)) return undefined;
  return carried as unknown as BuildProgress;
}

function firstDetailOf(failure: unknown): unknown {
  return failure instanceof ApplicationFailure ? failure.details?.[0] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
