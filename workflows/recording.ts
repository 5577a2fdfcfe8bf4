// The producer's recording: the build's root execution first, then node executions in
// batches as consumers end (at most one batch in flight; whatever arrives meanwhile forms the
// next batch), then the root's end. Recording activities retry until Postgres answers, so a
// database outage delays the records, never the dbt build or the consumers.
import { ActivityCancellationType, CancellationScope, log, patched, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { RecordBuildStartInput, RecordBuildStartResult, TakeBuildWatermarkInput, WatcherActivities } from '../activities/index.js';
import { FailuresNotRetried } from '../src/contracts/status.js';
import { RECORDING_ATTEMPT_SECONDS, RECORDING_GIVE_UP_SECONDS } from '../src/contracts/timeouts.js';
import type { ExecutionRecord } from '../src/recording/records.js';
import { jsonBytes, leadingPieceLength, PAYLOAD_BUDGET_BYTES } from '../src/contracts/payload-size.js';
import { PAYLOAD_BYTES_PATCH } from './dbt-node-group.js';

/** Records per recording activity (and, with the payload patch, at most PAYLOAD_BUDGET_BYTES of them). */
const MAX_BATCH = 500;

const RECORDING_OPTIONS: ActivityOptions = {
  // Short: an attempt lost with a dead worker is retried after this, not after minutes.
  startToCloseTimeout: RECORDING_ATTEMPT_SECONDS * 1000,
  // Bounded: a metadata database down for a day no longer holds the build's workflow open.
  scheduleToCloseTimeout: RECORDING_GIVE_UP_SECONDS * 1000,
  // Backoff, independent of the bounds above: Postgres is asked at least every 30 s while it is down.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: FailuresNotRetried.recordingActivity },
};
const { recordBuildStart, recordExecutions } = proxyActivities<WatcherActivities>(RECORDING_OPTIONS);
// The build waits for it, and may be canceled meanwhile: it then waits for the attempt to end (at
// most one attempt, no retry), so nothing of the build completes after it closed.
const { takeBuildWatermark } = proxyActivities<WatcherActivities>({ ...RECORDING_OPTIONS, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED });

export class BuildRecording {
  private started?: Promise<RecordBuildStartResult | undefined>;
  private pending: ExecutionRecord[] = [];
  private inFlight?: Promise<void>;
  readonly failures: string[] = [];

  /** Record the build's root (and sync pipelines and lineage); resolves with its watermark. */
  start(input: RecordBuildStartInput): Promise<RecordBuildStartResult | undefined> {
    // Recording outlives a canceled build: its activities run outside the build's cancellation.
    this.started = CancellationScope.nonCancellable(() => recordBuildStart(input)).catch((err: unknown) => {
      this.fail('build start', err);
      return undefined;
    });
    this.kick();
    return this.started;
  }

  /** Once the build holds its target lock: the watermark its range starts from, recorded on its root. */
  takeWatermark(input: TakeBuildWatermarkInput): Promise<{ watermark: string | null }> {
    return takeBuildWatermark(input);
  }

  add(records: ExecutionRecord[]): void {
    this.pending.push(...records);
    this.kick();
  }

  /** Every record so far is stored (or given up on). */
  async drain(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private kick(): void {
    if (this.inFlight || this.pending.length === 0 || !this.started) return;
    const batch = this.pending.splice(0, patched(PAYLOAD_BYTES_PATCH) ? leadingPieceLength(this.pending, MAX_BATCH, PAYLOAD_BUDGET_BYTES, jsonBytes) : MAX_BATCH);
    this.inFlight = this.started
      .then(async (start) => {
        // Without a root (no metadata database, or a recording bug) there is nothing to hang nodes on.
        if (start?.recorded) await CancellationScope.nonCancellable(() => recordExecutions({ records: batch }));
      })
      .catch((err: unknown) => this.fail(`${batch.length} executions`, err))
      .finally(() => {
        this.inFlight = undefined;
        this.kick();
      });
  }

  private fail(what: string, err: unknown): void {
    const message = `recording ${what} failed: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`;
    this.failures.push(message);
    log.warn(message);
  }
}
