// What the activities need from the worker: injected, so tests can swap parts.
import type { Client } from '@temporalio/client';
import type { DbtRunners } from '../src/dbt/dbt-runner-process.js';
import type { Notifier } from '../src/monitoring/notifier.js';
import type { Pool } from '../src/store/db.js';

export interface ActivityDeps {
  /** The worker's client, used to signal and watch consumer workflows. */
  client: Client;
  /** The dbt executable. */
  dbtBin: string;
  /** dbt runners (one process per build that parses once), held between a build's listing and its build; none: a dbt process per invocation. */
  dbtRunners?: DbtRunners;
  /** Environment for dbt (profile connection variables live here). */
  dbtEnv: NodeJS.ProcessEnv;
  /** Concurrent signals to consumers per build. */
  signalConcurrency: number;
  /** Time dbt gets after SIGINT before SIGTERM. */
  stopGraceMs: number;
  /** How often long activities heartbeat. */
  heartbeatIntervalMs: number;
  /** Build work dirs kept per project (<projectDir>/target/watcher/<buildId>/; WATCHER_KEEP_BUILD_DIRS, default 20). */
  keepBuildDirs?: number;
  /** Watcher's metadata database; recording is off without one. */
  store?: Pool;
  /** The Temporal UI's base URL, for the links in alerts (none without it). */
  uiUrl?: string;
  /** Whether a build gives its node pipelines the default anomaly rules they lack (default true; WATCHER_DBT_DEFAULT_ANOMALY_RULES). */
  dbtDefaultAnomalyRules?: boolean;
  /** The largest plan a build may have, in bytes of JSON (default MAX_PLAN_BYTES; tests set it low). */
  maxPlanBytes?: number;
  /** Alert channels; loaded from the worker's environment on first use when absent. */
  notifier?: Notifier;
}
