// The heartbeat of activities that run dbt: it goes out on a timer (dbt can be silent for
// minutes inside one query, and signals can take a while to drain).
import { Context } from '@temporalio/activity';

/** Heartbeat `details()` every `intervalMs` until the returned function is called. */
export function keepHeartbeating(intervalMs: number, details: () => unknown): () => void {
  const ctx = Context.current();
  const beat = () => ctx.heartbeat(details());
  beat();
  const timer = setInterval(beat, intervalMs);
  return () => clearInterval(timer);
}
