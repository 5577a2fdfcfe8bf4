// Activities that act on consumers as a group: tell the open ones the build ended without
// their result, and wait for upstream consumers before a single-node rerun.
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { NodeReport } from '../src/contracts/messages.js';
import { nodeWorkflowId } from '../src/contracts/names.js';
import { missingResult } from '../src/dbt/translate.js';
import { ConsumerSignals } from '../src/temporal/consumer-signals.js';
import type { ActivityDeps } from './deps.js';

export interface NotifyConsumersInput {
  buildId: string;
  uniqueIds: string[];
  status: 'not_run' | 'canceled';
  cause: string;
  retryable: boolean;
}

/** Every consumer still waiting gets a report; consumers keep the first they got. */
export async function notifyConsumers(deps: ActivityDeps, input: NotifyConsumersInput): Promise<number> {
  const signals = new ConsumerSignals(deps.client, input.buildId, { concurrency: deps.signalConcurrency, abort: Context.current().cancellationSignal });
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
  const stats = await signals.drain();
  if (stats.failed > 0) throw new Error(`could not reach ${stats.failed} consumers of build ${input.buildId}`);
  return stats.delivered;
}

/** Wait (long poll, heartbeating) until a workflow has closed, whatever its outcome. */
export async function waitForWorkflowClose(deps: ActivityDeps, input: { workflowId: string }): Promise<void> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), deps.heartbeatIntervalMs);
  try {
    await Promise.race([
      deps.client.workflow.getHandle(input.workflowId).result().catch(() => undefined),
      new Promise<never>((_, reject) => ctx.cancellationSignal.addEventListener('abort', () => reject(ctx.cancellationSignal.reason), { once: true })),
    ]);
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
