// The checks run themselves: one Temporal Schedule per check workflow, created or brought up to
// date idempotently (by `watcher dev`, `watcher monitor install` and the demo). Overlap skip: a
// check still running (e.g. waiting for Postgres) is not stacked with another; after downtime
// only one catch-up run starts, since each run looks at the current state anyway.
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions, type ScheduleOptionsStartWorkflowAction, type Workflow } from '@temporalio/client';
import {
  CHECK_ID_PREFIX,
  CHECK_WORKFLOW_TYPES,
  DEFAULT_TIMELINESS_LOOKBACK_MINUTES,
  LOG_CLEANUP_WORKFLOW_TYPE,
  logCleanupInputSchema,
  MIN_RETENTION_DAYS,
} from '../contracts/checks.js';
import { parseInput } from '../contracts/validation.js';

export interface CheckScheduleOptions {
  taskQueue: string;
  /** Log cleanup's retention (etl-watcher: at least 90 days). */
  retentionDays?: number;
  batchSize?: number;
  timelinessLookbackMinutes?: number;
  /** Create missing Schedules paused (tests, a staging install); an existing Schedule keeps its state. */
  paused?: boolean;
}

export interface CheckScheduleDefinition {
  /** `freshness`, `timeliness`, `failure-rate`, `anomalies`, `log-cleanup`: the Schedule is `watcher-check/<name>`. */
  name: string;
  cron: string;
  workflowType: string;
  args: Record<string, unknown>;
  summary: string;
}

export const CHECK_SCHEDULE_NAMES = ['freshness', 'timeliness', 'failure-rate', 'anomalies', 'log-cleanup'] as const;

export function checkScheduleId(name: string): string {
  return `${CHECK_ID_PREFIX}${name}`;
}

/** The five Schedules (pure: unit-tested). A retention below 90 days fails here, creating nothing. */
export function checkScheduleDefinitions(options: CheckScheduleOptions): CheckScheduleDefinition[] {
  const cleanup = parseInput(logCleanupInputSchema(), { retentionDays: options.retentionDays ?? MIN_RETENTION_DAYS, batchSize: options.batchSize }, 'log cleanup');
  const lookbackMinutes = options.timelinessLookbackMinutes ?? DEFAULT_TIMELINESS_LOOKBACK_MINUTES;
  return [
    { name: 'freshness', cron: '0 * * * *', workflowType: CHECK_WORKFLOW_TYPES.freshness, args: {}, summary: 'freshness check (hourly)' },
    { name: 'timeliness', cron: '*/15 * * * *', workflowType: CHECK_WORKFLOW_TYPES.timeliness, args: { lookbackMinutes }, summary: `timeliness check, lookback ${lookbackMinutes} min` },
    { name: 'failure-rate', cron: '*/15 * * * *', workflowType: CHECK_WORKFLOW_TYPES.failures, args: {}, summary: 'failure-rate check' },
    // Every 15 minutes with a 24 h lookback: a run that is late or skipped misses nothing, and the alert keys keep repeats out.
    { name: 'anomalies', cron: '*/15 * * * *', workflowType: CHECK_WORKFLOW_TYPES.anomalies, args: {}, summary: 'anomaly alerts' },
    { name: 'log-cleanup', cron: '30 3 * * *', workflowType: LOG_CLEANUP_WORKFLOW_TYPE, args: cleanup, summary: `log cleanup, retention ${cleanup.retentionDays} days` },
  ];
}

const MEMO_KEY = 'watcherCheck';

function scheduleOptions(def: CheckScheduleDefinition, taskQueue: string, paused: boolean): ScheduleOptions<ScheduleOptionsStartWorkflowAction<Workflow>> {
  return {
    scheduleId: checkScheduleId(def.name),
    spec: { cronExpressions: [def.cron] },
    action: {
      type: 'startWorkflow',
      workflowType: def.workflowType,
      // Temporal appends the nominal time: `watcher-check/freshness-2026-12-02T12:00:00Z`.
      workflowId: checkScheduleId(def.name),
      taskQueue,
      args: [def.args],
      // Temporal turns a cron string into calendar specs: keep the string to show it back.
      memo: { [MEMO_KEY]: { name: def.name, cron: def.cron } },
      staticSummary: def.summary,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
    state: { paused },
  };
}

export interface InstallResult {
  created: string[];
  updated: string[];
}

/** Create the missing check Schedules and update the others (spec, action, policies); never duplicates. */
export async function installCheckSchedules(client: Client, options: CheckScheduleOptions): Promise<InstallResult> {
  const defs = checkScheduleDefinitions(options);
  const result: InstallResult = { created: [], updated: [] };
  for (const def of defs) {
    const opts = scheduleOptions(def, options.taskQueue, options.paused ?? false);
    try {
      await client.schedule.create(opts);
      result.created.push(def.name);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      // Keeps the schedule's state (a pause stays a pause) and its history of actions.
      await client.schedule.getHandle(opts.scheduleId).update((prev) => ({ spec: opts.spec, action: opts.action, policies: opts.policies, state: prev.state }));
      result.updated.push(def.name);
    }
  }
  return result;
}

export interface CheckScheduleView {
  name: string;
  scheduleId: string;
  cron?: string;
  workflowType: string;
  paused: boolean;
  nextRun?: Date;
  lastRun?: Date;
  args: unknown;
}

/** The check Schedules that exist, described by ID (no visibility lag: a just-installed one is there). */
export async function listCheckSchedules(client: Client): Promise<CheckScheduleView[]> {
  const views: CheckScheduleView[] = [];
  for (const name of CHECK_SCHEDULE_NAMES) {
    try {
      const d = await client.schedule.getHandle(checkScheduleId(name)).describe();
      const memo = d.action.memo?.[MEMO_KEY] as { cron?: string } | undefined;
      views.push({
        name,
        scheduleId: d.scheduleId,
        cron: memo?.cron,
        workflowType: d.action.type === 'startWorkflow' ? d.action.workflowType : '',
        paused: d.state.paused,
        nextRun: d.info.nextActionTimes[0],
        lastRun: d.info.recentActions.at(-1)?.takenAt,
        args: d.action.type === 'startWorkflow' ? d.action.args?.[0] : undefined,
      });
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return views;
}

/** Delete the check Schedules (tests, uninstall); missing ones are fine. */
export async function deleteCheckSchedules(client: Client): Promise<string[]> {
  const deleted: string[] = [];
  for (const name of CHECK_SCHEDULE_NAMES) {
    try {
      await client.schedule.getHandle(checkScheduleId(name)).delete();
      deleted.push(name);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return deleted;
}
