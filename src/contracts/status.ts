// The one status mapping: dbt's per-result statuses -> a consumer's status (`DbtStatus`)
// and the ApplicationFailure type a failed consumer ends with.
// Pure and deterministic: used by the build activity, the consumer workflow and the CLI.

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
} as const;
export type FailureType = (typeof FailureTypes)[keyof typeof FailureTypes];

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

export function isTerminalNodeStatus(status: NodeStatus): boolean {
  return status !== 'pending' && status !== 'running';
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
