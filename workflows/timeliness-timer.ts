// Exact timeliness: a durable timer in the build's or node's own workflow, armed when its
// execution starts, that raises the `timeliness_late` alert at the moment the execution runs past
// its threshold (no polling; the 15-minute check finds the same execution under the same key,
// `timeliness:<execution_key>`, so it is delivered once). Canceled when the execution ends; an
// execution that ended past its due moment before the timer fired is alerted at its end.
//
// Delivery goes to an ABANDONed `deliverAlerts` child rather than an activity of this workflow:
// the alert then keeps its unlimited retries (a receiver down for minutes or hours still gets it)
// while the node or build ends on time; waiting for it here, even bounded, would either delay the
// node's end or drop an undelivered alert when the workflow closes. Waiting costs only the
// child's start (one round trip), never its delivery.
import { CancellationScope, isCancellation, log, ParentClosePolicy, proxyLocalActivities, sleep, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { WatcherActivities } from '../activities/index.js';
import { alertWorkflowId } from '../src/contracts/names.js';
import { timelinessAlert } from '../src/monitoring/check-alerts.js';
import { decideTimeliness, lateFinding, type LateDecision, type TimelinessSettings } from '../src/monitoring/timeliness.js';
import { deliverAlerts } from './send-alerts.js';

/** patched() names: every change to dbtBuild/dbtNode for exact timeliness is behind one of these. */
export const EXACT_TIMELINESS_NODE_PATCH = 'exact-timeliness-node';
export const EXACT_TIMELINESS_BUILD_PATCH = 'exact-timeliness-build';

/** A consumer's one look at its pipeline's thresholds and mutes (a Postgres read), when its node starts. */
export const { timelinessOf } = proxyLocalActivities<Pick<WatcherActivities, 'timelinessOf'>>({
  startToCloseTimeout: '10 seconds',
  // Bounded: with Postgres away the node is left to the 15-minute check.
  retry: { maximumAttempts: 3, initialInterval: '500 ms' },
});

export interface WatchedExecution {
  pipelineName: string;
  /** pipeline_execution.execution_key of the execution (src/recording/records.ts). */
  executionKey: string;
  startedAt: Date;
  settings: TimelinessSettings;
}

export interface ExecutionEnd {
  endDate: Date;
  succeeded: boolean;
}

export class TimelinessTimer {
  private readonly scope = new CancellationScope();
  private running?: Promise<void>;
  /** The alert child's start, once raised. */
  private alerting?: Promise<void>;
  private watched?: WatchedExecution;

  /**
   * Arm once, when the execution starts: `watch` says what to watch (thresholds from the store),
   * or undefined for nothing. Never fails its workflow: a lookup that fails leaves the check.
   */
  arm(watch: () => Promise<WatchedExecution | undefined>): void {
    if (this.running) return;
    this.running = this.scope
      .run(async () => {
        const w = await watch();
        if (!w) return;
        this.watched = w;
        for (;;) {
          const d = decide(w, undefined);
          if (d.kind === 'late') return this.alert(w, d);
          if (d.kind !== 'on_time') return;
          // Durable: the worker may restart; Temporal fires it at the due moment.
          await sleep(Math.max(1, d.dueBy.getTime() - Date.now()));
        }
      })
      .catch((err: unknown) => {
        if (!isCancellation(err)) log.warn(`timeliness timer not armed: ${err instanceof Error ? err.message : String(err)}`);
      });
  }

  /**
   * When the execution ends: cancel the timer; if it ended past its due moment before the timer
   * fired, alert now. Waits for an alert child's start only. Returns whether a timer watched it.
   */
  async stop(end: ExecutionEnd): Promise<boolean> {
    this.scope.cancel();
    await this.running;
    const w = this.watched;
    if (w && !this.alerting) {
      const d = decide(w, end);
      if (d.kind === 'late') this.alert(w, d);
    }
    await this.alerting;
    return w !== undefined;
  }

  private alert(w: WatchedExecution, d: LateDecision): void {
    const alert = timelinessAlert(lateFinding({ executionKey: w.executionKey, pipelineName: w.pipelineName, startDate: w.startedAt }, d), new Date().toISOString());
    this.alerting = CancellationScope.nonCancellable(() =>
      startChild(deliverAlerts, {
        workflowId: alertWorkflowId(alert.idempotencyKey),
        args: [[alert]],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: alert.title,
      }),
    ).then(
      () => undefined,
      (err: unknown) => {
        // Already started: this event's alert is on its way.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) log.warn(`timeliness alert not started: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }
}

function decide(w: WatchedExecution, end: ExecutionEnd | undefined) {
  return decideTimeliness(
    { startDate: w.startedAt, endDate: end?.endDate ?? null, completedSuccessfully: end ? end.succeeded : null, own: w.settings.own, type: w.settings.type },
    new Date(),
  );
}
