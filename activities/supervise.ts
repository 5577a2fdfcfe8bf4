// Heartbeats and cancellation for activities that run dbt: the heartbeat goes out on a timer
// for the activity's whole life (dbt can be silent for minutes inside one query, and signals
// can take a while to drain), and a cancellation stops dbt's whole process group before the
// activity reports back.
import { Context } from '@temporalio/activity';
import type { InvocationOutcome, RunningInvocation } from '../src/dbt/invocation.js';

/** Heartbeat `details()` every `intervalMs` until the returned function is called. */
export function keepHeartbeating(intervalMs: number, details: () => unknown): () => void {
  const ctx = Context.current();
  const beat = () => ctx.heartbeat(details());
  beat();
  const timer = setInterval(beat, intervalMs);
  return () => clearInterval(timer);
}

export interface Supervised {
  outcome: InvocationOutcome;
  /** Set when the activity was canceled (dbt was stopped). */
  cancelled?: unknown;
}

/** Wait for dbt to end; if the activity is canceled meanwhile, stop dbt first. */
export async function superviseInvocation(running: RunningInvocation, options: { stopGraceMs: number }): Promise<Supervised> {
  const ctx = Context.current();
  let cancelled: unknown;
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
    ctx.cancellationSignal.removeEventListener('abort', onAbort);
  }
}
