// The one activity that sends alerts: thin over the notifier (src/monitoring/notifier.ts) and its
// Postgres ledger. Exactly once per (channel, idempotency key): delivered keys are skipped, so
// Temporal may retry this activity as often as it likes (see SEND_ALERTS_ACTIVITY_OPTIONS).
// Channels and their URLs come from this worker's own environment, never from the workflow.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Alert } from '../src/monitoring/alerts.js';
import { AlertFailureTypes } from '../src/monitoring/delivery-policy.js';
import { createNotifier, loadNotifierConfig, memoryLedger, NotifierConfigError, parseAlerts, redactSecrets, type DeliveryLedger, type Notifier } from '../src/monitoring/notifier.js';
import { postgresLedger } from '../src/store/alerts.js';
import type { ActivityDeps } from './deps.js';
import { keepHeartbeating } from './heartbeat.js';

export interface SendAlertsResult {
  /** Deliveries made by this call (a Slack message listing 3 alerts counts 3). */
  sent: number;
  /** (channel, alert) pairs skipped because they had been delivered before. */
  alreadySent: number;
  /** Deliveries made by this call, per channel name (`slack`, `webhook`, `log`, or a file's names). */
  byChannel: Record<string, number>;
}

// One notifier and one in-memory ledger per worker process, built on first use when the worker
// did not inject one (the ledger only serves a worker without Postgres).
let fromEnv: Notifier | undefined;
const processLedger = memoryLedger();
const ledgers = new WeakMap<object, DeliveryLedger>();

function notifierOf(deps: ActivityDeps): Notifier {
  if (deps.notifier) return deps.notifier;
  try {
    fromEnv ??= createNotifier(loadNotifierConfig());
  } catch (err) {
    if (err instanceof NotifierConfigError) throw ApplicationFailure.nonRetryable(err.message, AlertFailureTypes.config);
    throw err;
  }
  return fromEnv;
}

function ledgerOf(deps: ActivityDeps): DeliveryLedger {
  if (!deps.store) return processLedger;
  let ledger = ledgers.get(deps.store);
  if (!ledger) ledgers.set(deps.store, (ledger = postgresLedger(deps.store)));
  return ledger;
}

export async function sendAlerts(deps: ActivityDeps, alerts: Alert[]): Promise<SendAlertsResult> {
  let valid: Alert[];
  try {
    valid = parseAlerts(alerts);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, AlertFailureTypes.invalidInput);
  }
  const notifier = notifierOf(deps);
  const ctx = Context.current();
  let requests = 0;
  const stop = keepHeartbeating(deps.heartbeatIntervalMs, () => ({ requests }));
  let report;
  try {
    report = await notifier.deliver(valid, ledgerOf(deps), { signal: ctx.cancellationSignal, progress: () => void requests++ });
  } catch (err) {
    // The ledger (Postgres) or a cancellation: retryable as it is, its text redacted all the same.
    if (err instanceof Error) err.message = redactSecrets(err.message, notifier.config.channels);
    throw err;
  } finally {
    stop();
  }
  const { sent, alreadySent, byChannel, transient, permanent, unrouted } = report;
  // A channel's `kinds`/`min_level` filter chose this: said once per attempt, so it is not silent.
  if (unrouted.length > 0) ctx.log.warn(`${unrouted.length} alert(s) matched no alert channel's kinds/min_level: ${unrouted.join(', ')}`);
  for (const f of [...transient, ...permanent]) ctx.log.warn(`alert channel ${f.channel}: ${f.error} (${f.undelivered} alert(s) not delivered)`);
  if (transient.length > 0) {
    // Retried by Temporal with backoff; what was delivered is in the ledger and is not sent again.
    // A receiver's Retry-After (429/503) sets the next delay when it asks for longer.
    const after = Math.max(0, ...transient.map((t) => t.retryAfterMs ?? 0));
    throw ApplicationFailure.create({
      message: `alerts not delivered yet (${alreadySent + sent} delivered so far): ${transient.map((t) => `${t.channel}: ${t.error}`).join('; ')}`,
      type: AlertFailureTypes.pending,
      details: [{ sent, alreadySent, byChannel }],
      ...(after > 0 ? { nextRetryDelay: Math.min(after, 10 * 60_000) } : {}),
    });
  }
  if (permanent.length > 0) {
    throw ApplicationFailure.create({
      message: `alerts rejected: ${permanent.map((p) => `channel ${p.channel} answered HTTP ${p.status} for ${p.undelivered} alert(s)`).join('; ')}; details: ${permanent.map((p) => p.error).join('; ')}`,
      type: AlertFailureTypes.rejected,
      nonRetryable: true,
      details: [{ sent, alreadySent, byChannel }],
    });
  }
  return { sent, alreadySent, byChannel };
}
