// How a workflow calls the `sendAlerts` activity: the failure types it may end with and the
// activity options that make "never lost" hold. Pure and workflow-safe (types only from the SDK):
// the check workflows import it next to their `proxyActivities` call.
import type { ActivityOptions } from '@temporalio/common';

/** ApplicationFailure types `sendAlerts` throws that a retry cannot fix. */
export const AlertFailureTypes = {
  /** A receiver answered 4xx (not 408/429): the payload or the channel is wrong. Names channel and status, never the URL. */
  rejected: 'AlertRejected',
  /** The channels' configuration (environment or WATCHER_ALERTS_FILE) does not parse. */
  config: 'AlertConfigError',
  /** An alert the contract does not allow (names the field). */
  invalidInput: 'InvalidInput',
  /** Retryable: a receiver answered 5xx/408/429, timed out or refused the connection; what was delivered is kept. */
  pending: 'AlertDeliveryPending',
} as const;

/** Every other failure (AlertDeliveryPending, Postgres away, a lost worker) is retried. */
export const ALERT_FAILURES_NOT_RETRIED: string[] = [AlertFailureTypes.rejected, AlertFailureTypes.config, AlertFailureTypes.invalidInput];

/**
 * Options for `proxyActivities` around `sendAlerts`: retried with no attempt limit and backoff up
 * to a minute, so a receiver that is down for minutes (or hours) still gets every alert once it is
 * back; a heartbeat every few seconds while sending lets a lost worker be noticed in 30 s.
 * Each request has its own 10 s timeout, and a channel stops at its first transient failure per
 * attempt, so an attempt is bounded by about 10 s per alert of the slowest receiver.
 */
export const SEND_ALERTS_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    // No maximumAttempts: unlimited (the TS SDK refuses 0, which other SDKs read as unlimited).
    nonRetryableErrorTypes: ALERT_FAILURES_NOT_RETRIED,
  },
};
