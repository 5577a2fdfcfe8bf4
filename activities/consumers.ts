// Activities that act on consumers as a group: tell the open ones the build ended without
// their result, and wait for upstream consumers before a single-node rerun.
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { NodeReport } from '../src/contracts/messages.js';
import { nodeWorkflowId } from '../src/contracts/names.js';
import { missingResult } from '../src/dbt/translate.js';
import { ConsumerSignals } from '../src/temporal/consumer-signals.js';
import type { ActivityDeps } from './deps.js';
import { keepHeartbeating } from './heartbeat.js';

export interface NotifyConsumersInput {
  buildId: string;
  uniqueIds: string[];
  status: 'not_run' | 'canceled';
  cause: string;
  retryable: boolean;
}

/**
 * Every consumer still waiting gets a report; consumers keep the first they got. It heartbeats
 * while it works: thousands of consumers, or a server that is away, make the drain outlast the
 * heartbeat timeout, and only a heartbeat brings a cancellation to an activity.
 */
export async function notifyConsumers(deps: ActivityDeps, input: NotifyConsumersInput): Promise<number> {
  const cancellation = Context.current().cancellationSignal;
  const signals = new ConsumerSignals(deps.client, input.buildId, { concurrency: deps.signalConcurrency, abort: cancellation });
  const stopHeartbeats = keepHeartbeating(deps.heartbeatIntervalMs, () => ({ phase: 'notify consumers', delivered: signals.stats.delivered }));
  try {
    for (const uniqueId of input.uniqueIds) {
      const report: NodeReport = {
        uniqueId,
        node: missingResult(uniqueId, input.status, input.cause),
        tests: [],
        cause: input.cause,
        retryable: input.retryable,
        completedAtMs: Date.now(),
      };
      signals.report(report);
    }
    // Canceled: stop waiting at once and end as canceled, not as consumers not reached (a
    // signal already on its way may still land: consumers keep the first report they get).
    const canceled = new Promise<never>((_, reject) => {
      if (cancellation.aborted) reject(cancellation.reason);
      cancellation.addEventListener('abort', () => reject(cancellation.reason), { once: true });
    });
    canceled.catch(() => undefined);
    const stats = await Promise.race([signals.drain(), canceled]);
    if (stats.failed > 0) throw new Error(`could not reach ${stats.failed} consumers of build ${input.buildId}`);
    return stats.delivered;
  } finally {
    stopHeartbeats();
  }
}

/** The first pause after a failed wait, and the longest one. */
const WAIT_RETRY_FIRST_MS = 1_000;
const WAIT_RETRY_MAX_MS = 30_000;

/**
 * The pause before the next long poll after `failedTries` failed ones in a row: 1 s, doubling,
 * at most 30 s. A server that stays away is not asked again and again in a hot loop, and one
 * that is back is found within 30 s (the pause only follows a failed wait, never a close).
 */
export function waitRetryPauseMs(failedTries: number): number {
  return Math.min(WAIT_RETRY_FIRST_MS * 2 ** Math.max(0, failedTries - 1), WAIT_RETRY_MAX_MS);
}

/**
 * Wait (long poll, heartbeating) until a workflow has closed, whatever its outcome. A failed
 * wait (the server restarting, a dropped long poll) is not a close: only Temporal saying the
 * workflow is closed, or does not exist, ends it, because a target lock is freed on it.
 */
export async function waitForWorkflowClose(deps: ActivityDeps, input: { workflowId: string }): Promise<void> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), deps.heartbeatIntervalMs);
  const aborted = new Promise<never>((_, reject) => ctx.cancellationSignal.addEventListener('abort', () => reject(ctx.cancellationSignal.reason), { once: true }));
  aborted.catch(() => undefined);
  try {
    // The run that holds the ID now: a later workflow with the same ID is not the one waited for.
    const current = await Promise.race([
      deps.client.workflow.getHandle(input.workflowId).describe().then(
        (d) => d.runId,
        (err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        },
      ),
      aborted,
    ]);
    if (current === undefined) return;
    const handle = deps.client.workflow.getHandle(input.workflowId, current);
    for (let failedTries = 1; ; failedTries++) {
      await Promise.race([handle.result().catch(() => undefined), aborted]);
      const state = await Promise.race([
        handle.describe().then(
          (d) => (d.status.name === 'RUNNING' ? 'running' : 'closed'),
          (err: unknown) => (err instanceof WorkflowNotFoundError ? 'closed' : 'unknown'),
        ),
        aborted,
      ]);
      if (state === 'closed') return;
      // The wait failed (or ended with the workflow still running): back off before the long
      // poll again. Depends on no other timing (the server may be restarting).
      await Promise.race([new Promise((r) => setTimeout(r, waitRetryPauseMs(failedTries))), aborted]);
    }
  } finally {
    clearInterval(timer);
  }
}

export interface UpstreamOutcome {
  uniqueId: string;
  ok: boolean;
  /** How it ended: `completed`, or the failure's message. */
  detail: string;
}

/**
 * Wait until each upstream consumer has ended (following its retries) and say how.
 * A long poll on each workflow's result, no polling loop; heartbeats keep it cancellable.
 */
export async function waitForConsumers(
  deps: ActivityDeps,
  input: { buildId: string; uniqueIds: string[] },
): Promise<UpstreamOutcome[]> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), deps.heartbeatIntervalMs);
  try {
    const waits = input.uniqueIds.map(async (uniqueId): Promise<UpstreamOutcome> => {
      const handle = deps.client.workflow.getHandle(nodeWorkflowId(input.buildId, uniqueId));
      try {
        await handle.result();
        return { uniqueId, ok: true, detail: 'completed' };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { uniqueId, ok: false, detail: 'no such consumer' };
        if (err instanceof WorkflowFailedError) {
          return { uniqueId, ok: false, detail: err.cause?.message ?? err.message };
        }
        throw err;
      }
    });
    return await Promise.race([
      Promise.all(waits),
      new Promise<never>((_, reject) => ctx.cancellationSignal.addEventListener('abort', () => reject(ctx.cancellationSignal.reason), { once: true })),
    ]);
  } finally {
    clearInterval(timer);
  }
}
