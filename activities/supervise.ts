// Heartbeats and cancellation for an activity that runs dbt: the heartbeat goes out on a timer
// (dbt can be silent for minutes inside one query), and a cancellation stops dbt's whole
// process group before the activity reports back.
import { Context } from '@temporalio/activity';
import type { InvocationOutcome, RunningInvocation } from '../src/dbt/invocation.js';

export interface Supervised {
  outcome: InvocationOutcome;
  /** Set when the activity was canceled (dbt was stopped). */
  cancelled?: unknown;
}

export async function superviseInvocation(
  running: RunningInvocation,
  options: { heartbeatIntervalMs: number; stopGraceMs: number; details: () => unknown },
): Promise<Supervised> {
  const ctx = Context.current();
  let cancelled: unknown;
  const beat = () => ctx.heartbeat(options.details());
  beat();
  const timer = setInterval(beat, options.heartbeatIntervalMs);
  const onAbort = () => {
    cancelled = ctx.cancellationSignal.reason ?? new Error('activity cancelled');
    void running.process.stop(options.stopGraceMs);
  };
  if (ctx.cancellationSignal.aborted) onAbort();
  else ctx.cancellationSignal.addEventListener('abort', onAbort, { once: true });
  try {
    const outcome = await running.outcome;
    return { outcome, cancelled };
  } finally {
    clearInterval(timer);
    ctx.cancellationSignal.removeEventListener('abort', onAbort);
  }
}
