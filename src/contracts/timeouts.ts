// The timing contracts that depend on each other, in one place (workflow-safe: plain numbers).
// A worker that dies is noticed through heartbeats: every activity that can outlive a worker
// heartbeats, or is short enough that its start-to-close bound is its heartbeat.
// Timings that depend on nothing else (retry backoffs, the bound on resolving the graph, polling
// delays) stay with the code that uses them.

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

/**
 * Heartbeat timeout of a single-node rerun: how long a dead worker goes unnoticed during one.
 * Independent of HEARTBEAT_TIMEOUT_SECONDS (older, and left at its value); TARGET_DRAIN_SECONDS
 * is derived from the build activity's heartbeat only.
 */
export const RERUN_HEARTBEAT_TIMEOUT_SECONDS = 30;

/** One attempt of a recording activity (a batch of at most 500 records takes well under 5 s). */
export const RECORDING_ATTEMPT_SECONDS = 30;

/**
 * How long a recording activity retries before its records are given up on. Independent of the
 * build's bounds: it is how long a metadata database may be down (a day), not how long dbt runs.
 */
export const RECORDING_GIVE_UP_SECONDS = 24 * 3600;

/** The longest a build's dbt may run (the build activity's start-to-close bound). */
export const BUILD_TIMEOUT_SECONDS = 24 * 3600;

/** A node re-run alone is a build of one node: the same bound. */
export const RERUN_TIMEOUT_SECONDS = BUILD_TIMEOUT_SECONDS;

/**
 * Waiting on a build (a consumer for its report, a target lock for its build to close) gives
 * up after the longest build plus an hour's margin, so it never gives up on a build still running.
 */
export const BUILD_WAIT_SECONDS = BUILD_TIMEOUT_SECONDS + 3600;
