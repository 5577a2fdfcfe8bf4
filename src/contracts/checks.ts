// The monitoring checks' names and inputs: shared by their workflows, activities, Schedules and
// the `watcher check` command. Workflow-safe (zod only, no Node built-ins).
import { z } from 'zod';
import type { Alert } from '../monitoring/alerts.js';
import { lazySchema } from './validation.js';

export const CHECK_NAMES = ['freshness', 'timeliness', 'anomalies', 'failures'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** Workflow type of each check, and of log cleanup. */
export const CHECK_WORKFLOW_TYPES = {
  freshness: 'freshnessCheck',
  timeliness: 'timelinessCheck',
  anomalies: 'anomalyAlerts',
  failures: 'failureRateCheck',
} as const satisfies Record<CheckName, string>;
export const LOG_CLEANUP_WORKFLOW_TYPE = 'logCleanup';

/** Prefix of the check workflows' IDs and of their Schedules' IDs (`watcher-check/freshness`). */
export const CHECK_ID_PREFIX = 'watcher-check/';

// Bounds as the HTTP API's /timeliness and /log_cleanup take them.
const lookback = (fallback: number) => z.number().int().min(5).max(5_256_000).default(fallback);

export const DEFAULT_TIMELINESS_LOOKBACK_MINUTES = 60;
export const DEFAULT_ANOMALY_LOOKBACK_MINUTES = 24 * 60;

/** Built on first use (see lazySchema): every workflow of the bundle would build it otherwise. */
export const checkInputSchema = lazySchema(() =>
  z.discriminatedUnion('check', [
    z.object({ check: z.literal('freshness') }).strict(),
    z.object({ check: z.literal('timeliness'), lookbackMinutes: lookback(DEFAULT_TIMELINESS_LOOKBACK_MINUTES) }).strict(),
    z.object({ check: z.literal('anomalies'), lookbackMinutes: lookback(DEFAULT_ANOMALY_LOOKBACK_MINUTES) }).strict(),
    z
      .object({
        check: z.literal('failures'),
        /** Failing when strictly more than this share of the window's executions failed. */
        thresholdPercent: z.number().min(0).lt(100).default(20),
        windowMinutes: z.number().int().min(1).max(527_040).default(24 * 60),
        minExecutions: z.number().int().min(1).max(1_000_000).default(5),
      })
      .strict(),
  ]),
);
export type CheckInputRaw = z.input<ReturnType<typeof checkInputSchema>>;
export type CheckInput = z.output<ReturnType<typeof checkInputSchema>>;

/** etl-watcher requires a retention of at least 90 days. */
export const MIN_RETENTION_DAYS = 90;
export const logCleanupInputSchema = lazySchema(() =>
  z
    .object({
      retentionDays: z.number().int().min(MIN_RETENTION_DAYS).max(36_500).default(MIN_RETENTION_DAYS),
      batchSize: z.number().int().min(1).max(100_000).default(10_000),
    })
    .strict(),
);
export type LogCleanupInputRaw = z.input<ReturnType<typeof logCleanupInputSchema>>;
export type LogCleanupInput = z.output<ReturnType<typeof logCleanupInputSchema>>;

/** One finding as a flat row (a table line, a JSON object). */
export type CheckFinding = Record<string, string | number | boolean | null>;

/** What a check's activity found, with the alerts to send for it. */
export interface CheckResult {
  check: CheckName;
  /** Pipelines or executions judged (skipped ones left out). */
  evaluated: number;
  /** How many are stale/late/anomalous/failing now; `watcher check` exits 1 when above 0. */
  found: number;
  /** The findings of this run (freshness and timeliness: the new ones; see the README). */
  findings: CheckFinding[];
  /** More findings than a workflow result should carry: only the first ones are listed. */
  truncated: boolean;
  alerts: Alert[];
}

/** A check workflow's result. */
export interface CheckSummary extends Omit<CheckResult, 'alerts'> {
  /** Alerts handed to the notifier (it skips a key it delivered before, on each channel). */
  alertsSent: number;
  /** The alerts' keys, in order (what the notifier deduplicates on). */
  alertKeys: string[];
  /** Why some alerts were not delivered (a channel rejected them: 4xx, or its config is wrong). */
  alertErrors?: string[];
}

export interface LogCleanupSummary {
  retentionDays: number;
  cutoff: string;
  deleted: Record<string, number>;
}
