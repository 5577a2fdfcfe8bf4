// The timing contracts that depend on each other, in one place (workflow-safe: plain numbers).
// A worker that dies is noticed through heartbeats: every activity that can outlive a worker
// heartbeats, or is short enough that its start-to-close bound is its heartbeat.

/** Heartbeat timeout of the activities that wait or run dbt: how long a dead worker goes unnoticed. */
export const HEARTBEAT_TIMEOUT_SECONDS = 20;

/** A worker heartbeats every this often (the SDK throttles to at most one per 5 s per activity). */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/** After SIGINT, dbt gets this long to cancel its queries before SIGTERM (the worker's default). */
export const DBT_STOP_GRACE_MS = 10_000;

/** After SIGTERM, dbt gets this long before SIGKILL. */
export const DBT_SIGTERM_GRACE_MS = 5_000;

/**
 * How long a terminated build's target lock is held after the build closed: its build activity
 * notices at its next heartbeat (timeout), then stops dbt (SIGINT, grace, SIGTERM, grace,
 * SIGKILL); plus a margin.
 */
export const TARGET_DRAIN_SECONDS = HEARTBEAT_TIMEOUT_SECONDS + (DBT_STOP_GRACE_MS + DBT_SIGTERM_GRACE_MS) / 1000 + 5;

/** One attempt of a recording activity (a batch of at most 500 records takes well under 5 s). */
export const RECORDING_ATTEMPT_SECONDS = 30;

/** The longest a build may run; consumers wait this long (plus a margin) at most. */
export const BUILD_TIMEOUT_SECONDS = 24 * 3600;
